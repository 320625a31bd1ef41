// The Admin panel, for keys that hold the admin scope (GET /me says so; the tab stays hidden for the
// others, and the server refuses its routes to them anyway): keys, usage charts, and the last
// exchanges of one key (GET /history?key_id=). It loads when the tab is shown, and again on Refresh.
import { api, isPageWideFailure, loadKey, messageOf } from './api.js';
import { formatTime, initKeys } from './admin-keys.js';
import { initUsage } from './admin-usage.js';
import { cell } from './tools.js';

const EXCHANGES = 20;
const number = new Intl.NumberFormat();

/** What the server says of the key in the key field: `{ key_id, name, scopes, … }`, or null when it says nothing usable. */
export async function whoAmI() {
  if (!loadKey()) return null;
  try {
    return await (await api('/me')).json();
  } catch {
    return null;
  }
}

export function initAdminPanel({ showNotice }) {
  const $ = (id) => document.getElementById(id);
  const error = $('admin-error');
  const picker = $('exchanges-key');
  const rows = document.querySelector('#exchanges-table tbody');
  /** Keys seen in usage but not managed (the environment's keys): id → name. */
  const otherKeys = new Map();
  let managed = [];
  let me = null;

  const onError = (failure) => {
    error.textContent = messageOf(failure);
    error.hidden = false;
    if (isPageWideFailure(failure)) showNotice(failure.message);
  };

  function fillPicker() {
    const chosen = picker.value || me?.key_id || '';
    const entries = new Map(otherKeys);
    if (me) entries.set(me.key_id, me.name);
    for (const key of managed) entries.set(key.id, key.status === 'active' ? key.name : `${key.name} (${key.status})`);
    picker.replaceChildren(
      ...[...entries].map(([id, name]) => {
        const option = document.createElement('option');
        option.value = id;
        option.textContent = id === me?.key_id ? `${name} (this key)` : name;
        return option;
      }),
    );
    if (entries.has(chosen)) picker.value = chosen;
  }

  async function loadExchanges() {
    if (!picker.value) return;
    const params = new URLSearchParams({ key_id: picker.value, limit: String(EXCHANGES) });
    const { items } = await (await api(`/history?${params}`)).json();
    rows.replaceChildren(
      ...items.map((row) => {
        const tr = document.createElement('tr');
        tr.dataset.conversationId = String(row.id);
        const when = cell('td', formatTime(row.ts));
        const tokens = row.prompt_tokens === null && row.completion_tokens === null ? '–' : number.format((row.prompt_tokens ?? 0) + (row.completion_tokens ?? 0));
        const prompt = cell('td', row.prompt, 'wide-col prompt-col');
        prompt.title = row.prompt;
        tr.append(
          when,
          cell('td', row.source),
          cell('td', row.model ?? '–'),
          cell('td', cell('span', row.status, `badge ${row.status === 'ok' ? 'ok' : row.status}`)),
          cell('td', tokens, 'num'),
          cell('td', row.duration_ms === null ? '–' : number.format(row.duration_ms), 'num'),
          prompt,
        );
        return tr;
      }),
    );
    $('exchanges-empty').hidden = items.length > 0;
  }

  const keys = initKeys({
    onError,
    onChange: (list) => {
      managed = list;
      fillPicker();
    },
    onShowExchanges: (key) => {
      picker.value = key.id;
      void run(loadExchanges);
      $('exchanges-title').scrollIntoView({ block: 'start' });
      picker.focus();
    },
  });
  const usage = initUsage();

  async function run(...steps) {
    error.hidden = true;
    try {
      for (const step of steps) await step();
    } catch (failure) {
      onError(failure);
    }
  }

  async function loadUsage() {
    const byDayKey = await usage.load();
    for (const group of byDayKey.groups) {
      if (group.key_id && !managed.some((key) => key.id === group.key_id)) otherKeys.set(group.key_id, group.key_name ?? group.key_id);
    }
    fillPicker();
  }

  const refresh = () => run(keys.load, loadUsage, loadExchanges);
  $('usage-refresh').addEventListener('click', () => void refresh());
  usage.period.addEventListener('change', () => void run(loadUsage));
  picker.addEventListener('change', () => void run(loadExchanges));

  return {
    /** The principal of the key in the key field changed (a new key saved): forget the last one's view. */
    reset(principal) {
      me = principal;
      otherKeys.clear();
      managed = [];
      keys.hideSecret();
      picker.replaceChildren();
      rows.replaceChildren();
    },
    refresh,
  };
}
