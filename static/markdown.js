// A small Markdown renderer for model answers. Safety comes from the order of work: every piece of
// the answer is HTML-escaped first, and only then are a few fixed tags put around the escaped text
// (paragraphs, headings, lists, quotes, code, `*` emphasis, http(s) links). No HTML from the answer ever
// reaches the page as markup, whatever it contains.

const ESCAPES = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (char) => ESCAPES[char]);
}

// Placeholders for code spans and links while emphasis is applied: \u0001 never survives the input
// (it is stripped up front), so an answer cannot forge one.
const HOLE = '\u0001';

function inline(raw) {
  const held = [];
  const hold = (html) => `${HOLE}${held.push(html) - 1}${HOLE}`;
  let text = raw.replace(/`([^`\n]+)`/g, (_, code) => hold(`<code>${escapeHtml(code)}</code>`));
  text = text.replace(/\[([^\]\n]+)\]\((https?:\/\/[^\s()<>"']+)\)/g, (_, label, url) =>
    hold(`<a href="${escapeHtml(url)}" target="_blank" rel="noopener noreferrer nofollow">${escapeHtml(label)}</a>`),
  );
  text = escapeHtml(text);
  text = text.replace(/\*\*(?=\S)([^*\n]*?\S)\*\*/g, '<strong>$1</strong>');
  text = text.replace(/(^|[^*\w])\*(?=\S)([^*\n]*?\S)\*(?![*\w])/g, '$1<em>$2</em>');
  text = text.replace(/~~(?=\S)([^~\n]*?\S)~~/g, '<del>$1</del>');
  return text.replace(new RegExp(`${HOLE}(\\d+)${HOLE}`, 'g'), (_, index) => held[Number(index)]);
}

const FENCE = /^\s*(```|~~~)\s*([\w+#.-]*)\s*$/;
const HEADING = /^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$/;
const BULLET = /^\s*[-*+]\s+(.*)$/;
const NUMBERED = /^\s*(\d{1,9})[.)]\s+(.*)$/;
const QUOTE = /^\s*>\s?(.*)$/;
const RULE = /^\s*([-*_])(\s*\1){2,}\s*$/;

function isBlockStart(line) {
  return FENCE.test(line) || HEADING.test(line) || BULLET.test(line) || NUMBERED.test(line) || QUOTE.test(line) || RULE.test(line);
}

/** Markdown → HTML string, safe to assign to `innerHTML`. An unclosed code fence (mid-stream) is shown as code. */
export function renderMarkdown(source) {
  const lines = String(source).replace(/\r\n?/g, '\n').replaceAll(HOLE, '').split('\n');
  const out = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    const fence = FENCE.exec(line);
    if (fence) {
      const body = [];
      i += 1;
      while (i < lines.length && !new RegExp(`^\\s*${fence[1]}\\s*$`).test(lines[i])) body.push(lines[i++]);
      i += 1;
      const lang = fence[2] ? ` class="language-${escapeHtml(fence[2])}"` : '';
      out.push(`<pre><code${lang}>${escapeHtml(body.join('\n'))}</code></pre>`);
      continue;
    }
    if (line.trim() === '') {
      i += 1;
      continue;
    }
    if (RULE.test(line)) {
      out.push('<hr>');
      i += 1;
      continue;
    }
    const heading = HEADING.exec(line);
    if (heading) {
      const level = Math.min(6, heading[1].length + 2);
      out.push(`<h${level}>${inline(heading[2])}</h${level}>`);
      i += 1;
      continue;
    }
    if (BULLET.test(line) || NUMBERED.test(line)) {
      const ordered = !BULLET.test(line);
      const pattern = ordered ? NUMBERED : BULLET;
      const items = [];
      const start = ordered ? Number(NUMBERED.exec(line)[1]) : 1;
      while (i < lines.length && pattern.test(lines[i])) {
        const match = pattern.exec(lines[i]);
        let item = ordered ? match[2] : match[1];
        i += 1;
        // Indented continuation lines belong to the item.
        while (i < lines.length && /^\s{2,}\S/.test(lines[i]) && !isBlockStart(lines[i])) item += `\n${lines[i++].trim()}`;
        items.push(`<li>${item.split('\n').map(inline).join('<br>')}</li>`);
      }
      const open = ordered ? (start === 1 ? '<ol>' : `<ol start="${start}">`) : '<ul>';
      out.push(`${open}${items.join('')}${ordered ? '</ol>' : '</ul>'}`);
      continue;
    }
    if (QUOTE.test(line)) {
      const quoted = [];
      while (i < lines.length && QUOTE.test(lines[i])) quoted.push(QUOTE.exec(lines[i++])[1]);
      out.push(`<blockquote>${renderMarkdown(quoted.join('\n'))}</blockquote>`);
      continue;
    }
    const paragraph = [];
    while (i < lines.length && lines[i].trim() !== '' && (paragraph.length === 0 || !isBlockStart(lines[i]))) {
      paragraph.push(lines[i++]);
    }
    out.push(`<p>${paragraph.map(inline).join('<br>')}</p>`);
  }
  return out.join('\n');
}

const ENTITIES = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"', '&#39;': "'" };

/**
 * Builds the DOM of a search snippet from the server's HTML-escaped text with `<mark>` tags,
 * without ever parsing it as HTML: text parts become text nodes, the marks become elements.
 */
export function snippetFragment(snippet, doc = document) {
  const fragment = doc.createDocumentFragment();
  let mark = null;
  for (const part of String(snippet).split(/(<mark>|<\/mark>)/)) {
    if (part === '<mark>') {
      mark = doc.createElement('mark');
      fragment.append(mark);
    } else if (part === '</mark>') {
      mark = null;
    } else if (part) {
      const text = part.replace(/&(amp|lt|gt|quot|#39);/g, (entity) => ENTITIES[entity]);
      (mark ?? fragment).append(doc.createTextNode(text));
    }
  }
  return fragment;
}
