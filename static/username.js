// The username panel: POST /osint/username, one table row per probed site. Site names, URLs and
// notes are text nodes; a profile URL becomes a link only when it is http(s).
import { api } from './api.js';
import { cell, outsideLink, panelRunner } from './tools.js';

const VERDICTS = new Map([
  [true, ['yes', 'found']],
  [false, ['no', 'missing']],
  [null, ['unknown', 'unknown']],
]);

function hitRow(hit) {
  const [word, kind] = VERDICTS.get(hit.exists) ?? VERDICTS.get(null);
  const row = document.createElement('tr');
  row.className = `hit ${kind}`;
  row.dataset.site = hit.site;
  const site = cell('th', hit.site);
  site.scope = 'row';
  if (hit.nsfw) {
    const badge = cell('span', 'adult', 'badge');
    site.append(' ', badge);
  }
  row.append(site, cell('td', cell('span', word, `verdict ${kind}`)), cell('td', outsideLink(hit.url), 'link-col'), cell('td', hit.note, 'note-col muted'));
  return row;
}

export function initUsernamePanel({ showNotice }) {
  const $ = (id) => document.getElementById(id);
  const ui = {
    form: $('username-form'),
    q: $('username-q'),
    nsfw: $('username-nsfw'),
    go: $('username-go'),
    result: $('username-result'),
    summary: $('username-summary'),
    rows: document.querySelector('#username-table tbody'),
  };
  const run = panelRunner({
    button: ui.go,
    status: $('username-status'),
    statusText: $('username-status-text'),
    error: $('username-error'),
    empty: $('username-empty'),
    showNotice,
  });

  ui.form.addEventListener('submit', (event) => {
    event.preventDefault();
    const username = ui.q.value.trim();
    if (!username) {
      ui.q.focus();
      return;
    }
    void run(`Asking every site about "${username}"…`, async () => {
      const response = await api('/osint/username', { body: { username, include_nsfw: ui.nsfw.checked } });
      const { items } = await response.json();
      const count = (exists) => items.filter((hit) => hit.exists === exists).length;
      ui.summary.textContent = `"${username}": found on ${count(true)}, not found on ${count(false)}, unknown on ${count(null)} of ${items.length} sites.`;
      ui.rows.replaceChildren(...items.map(hitRow));
      ui.result.hidden = false;
    });
  });
}
