// The research panel: POST /research/summarize (or /research/rag), the summary with clickable [n]
// citations, the numbered sources and the pages that failed. The summary goes through the escaping
// Markdown renderer; citations, titles, snippets and errors are built with DOM APIs as text nodes.
import { api } from './api.js';
import { renderMarkdown } from './markdown.js';
import { outsideLink, panelRunner } from './tools.js';

const CITATION = /\[(\d{1,3}(?:\s*,\s*\d{1,3})*)\]/g;

/**
 * Replaces `[n]` and `[n, m]` in the text of `root` (outside code and links) with links to the
 * sources; numbers without a source stay as they are.
 */
export function linkCitations(root, count, onCite) {
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT, {
    acceptNode: (node) => (node.parentElement.closest('code, pre, a') ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT),
  });
  const nodes = [];
  while (walker.nextNode()) nodes.push(walker.currentNode);
  for (const node of nodes) {
    const text = node.nodeValue;
    const parts = document.createDocumentFragment();
    let last = 0;
    for (const match of text.matchAll(CITATION)) {
      const numbers = match[1].split(',').map((part) => Number(part.trim()));
      if (!numbers.every((n) => n >= 1 && n <= count)) continue;
      parts.append(document.createTextNode(text.slice(last, match.index)));
      for (const n of numbers) parts.append(citation(n, onCite));
      last = match.index + match[0].length;
    }
    if (last === 0) continue;
    parts.append(document.createTextNode(text.slice(last)));
    node.replaceWith(parts);
  }
}

function citation(n, onCite) {
  const link = document.createElement('a');
  link.className = 'cite';
  link.href = `#research-source-${n}`;
  link.dataset.n = String(n);
  link.textContent = `[${n}]`;
  link.setAttribute('aria-label', `source ${n}`);
  link.addEventListener('click', (event) => {
    event.preventDefault();
    onCite(n);
  });
  return link;
}

function hostOf(url) {
  try {
    return new URL(url).host;
  } catch {
    return '';
  }
}

/** One numbered source: title (a link when the URL is http(s)), host, snippet, and its error if it failed. */
function sourceItem({ n, title, url, snippet, error }) {
  const item = document.createElement('li');
  item.id = `research-source-${n}`;
  item.className = 'source';
  item.tabIndex = -1;
  item.dataset.n = String(n);
  const head = document.createElement('div');
  head.className = 'source-head';
  const number = document.createElement('span');
  number.className = 'source-n';
  number.textContent = `[${n}]`;
  head.append(number, outsideLink(url, title || url));
  const host = hostOf(url);
  if (host) {
    const where = document.createElement('span');
    where.className = 'muted source-host';
    where.textContent = host;
    head.append(where);
  }
  item.append(head);
  if (snippet) {
    const text = document.createElement('p');
    text.className = 'source-snippet';
    text.textContent = snippet;
    item.append(text);
  }
  if (error) {
    item.classList.add('failed');
    const why = document.createElement('p');
    why.className = 'source-error';
    why.textContent = `Could not be read (its search snippet was used): ${error}`;
    item.append(why);
  }
  return item;
}

function failedItem({ url, error }) {
  const item = document.createElement('li');
  item.className = 'source failed';
  const why = document.createElement('p');
  why.className = 'source-error';
  why.textContent = error;
  item.append(outsideLink(url), why);
  return item;
}

export function initResearchPanel({ showNotice }) {
  const $ = (id) => document.getElementById(id);
  const ui = {
    form: $('research-form'),
    q: $('research-q'),
    rag: $('research-rag'),
    go: $('research-go'),
    result: $('research-result'),
    meta: $('research-meta'),
    summary: $('research-summary'),
    sources: $('research-sources'),
    failedBox: $('research-failed-box'),
    failed: $('research-failed'),
  };
  ui.rag.checked = localStorage.getItem('vega.researchRag') === 'true';
  ui.rag.addEventListener('change', () => localStorage.setItem('vega.researchRag', String(ui.rag.checked)));

  const run = panelRunner({
    button: ui.go,
    status: $('research-status'),
    statusText: $('research-status-text'),
    error: $('research-error'),
    empty: $('research-empty'),
    showNotice,
    wording: (error) => {
      const detail = error.serverMessage ? ` (${error.serverMessage})` : '';
      if (error.status === 502) return `The search provider or the model backend failed.${detail}`;
      if (error.status === 504) return `The search provider or the model backend took too long.${detail}`;
      return null;
    },
  });

  const highlight = (n) => {
    for (const item of ui.sources.querySelectorAll('.source.highlight')) item.classList.remove('highlight');
    const target = document.getElementById(`research-source-${n}`);
    if (!target) return;
    target.classList.add('highlight');
    target.scrollIntoView({ block: 'center', behavior: 'smooth' });
    target.focus({ preventScroll: true });
  };

  const show = (summary, sources, failed, meta) => {
    ui.summary.innerHTML = renderMarkdown(summary);
    linkCitations(ui.summary, sources.length, highlight);
    ui.sources.replaceChildren(...sources.map(sourceItem));
    ui.failed.replaceChildren(...failed.map(failedItem));
    ui.failedBox.hidden = failed.length === 0;
    ui.meta.textContent = meta;
    ui.result.hidden = false;
  };

  ui.form.addEventListener('submit', (event) => {
    event.preventDefault();
    const query = ui.q.value.trim();
    if (!query) {
      ui.q.focus();
      return;
    }
    const rag = ui.rag.checked;
    void run(rag ? 'Searching, reading the pages and ranking passages…' : 'Searching and reading the pages…', async () => {
      const response = await api(rag ? '/research/rag' : '/research/summarize', { body: { query } });
      const body = await response.json();
      if (rag) {
        show(body.summary, body.sources, body.failed, `· passages ranked by ${body.ranking}`);
      } else {
        const sources = body.items.map((item) => ({ n: item.n, title: item.title, url: item.href, snippet: item.snippet, error: item.error }));
        show(body.summary, sources, [], `· ${sources.length} ${sources.length === 1 ? 'page' : 'pages'}`);
      }
    });
  });
}
