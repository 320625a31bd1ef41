// The admin panel's keys: the table of managed keys (GET /admin/keys), a dialog to create or edit
// one, rotate and revoke. A secret (from create or rotate) is shown once, in a box with a copy
// button, and dropped from the page when the box is closed. Every value from the server reaches the
// page as text.
import { api, messageOf } from './api.js';
import { cell } from './tools.js';

/** The limits of the key object, in the order the dialog shows them, with a short unit for the table. */
export const LIMITS = [
  ['requests_per_minute', 'req/min'],
  ['tokens_per_minute', 'tok/min'],
  ['concurrent_streams', 'streams'],
  ['tokens_per_day', 'tok/day'],
  ['tokens_per_month', 'tok/month'],
  ['model_seconds_per_day', 'model s/day'],
];

const number = new Intl.NumberFormat();

export function formatTime(iso) {
  if (!iso) return null;
  const time = document.createElement('time');
  time.dateTime = iso;
  time.textContent = new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
  return time;
}

function limitsText(limits) {
  const parts = LIMITS.filter(([name]) => limits?.[name] !== undefined && limits[name] !== null).map(([name, unit]) =>
    limits[name] === 0 ? `no ${unit} limit` : `${number.format(limits[name])} ${unit}`,
  );
  return parts.length > 0 ? parts.join(' · ') : 'defaults';
}

/** The secret box: the value in a read-only field, a Copy button, and Done, which forgets it. */
function secretBox($) {
  const box = $('secret-box');
  const value = $('secret-value');
  const copied = $('secret-copied');
  const hide = () => {
    value.value = '';
    box.hidden = true;
  };
  $('secret-copy').addEventListener('click', async () => {
    try {
      // The Clipboard API needs a secure context (https or loopback); elsewhere, the selection and execCommand.
      if (navigator.clipboard && window.isSecureContext) await navigator.clipboard.writeText(value.value);
      else {
        value.select();
        if (!document.execCommand('copy')) throw new Error('copy refused');
      }
      copied.textContent = 'Copied to the clipboard.';
    } catch {
      value.select();
      copied.textContent = 'The browser refused to copy: the secret is selected, press Ctrl+C (⌘C).';
    }
  });
  $('secret-done').addEventListener('click', hide);
  return {
    show(key) {
      $('secret-name').textContent = key.name;
      value.value = key.secret;
      copied.textContent = '';
      box.hidden = false;
      value.focus();
      value.select();
    },
    hide,
  };
}

/** The create/edit dialog. `open(key)` edits `key`; `open()` creates. Resolves nothing: `onSaved` is told. */
function keyDialog($, { onSaved }) {
  const dialog = $('key-dialog');
  const form = $('key-edit-form');
  const error = $('key-form-error');
  const name = $('kf-name');
  const models = $('kf-models');
  const expires = $('kf-expires');
  const scopes = () => [...form.querySelectorAll('input[name=scope]')];
  const limitInputs = () => [...form.querySelectorAll('input[data-limit]')];
  let editing = null;

  const fail = (message, field) => {
    error.textContent = message;
    error.hidden = false;
    field?.focus();
  };

  function body() {
    const chosen = scopes().filter((box) => box.checked).map((box) => box.value);
    const list = models.value.split(',').map((model) => model.trim()).filter(Boolean);
    const limits = {};
    for (const input of limitInputs()) {
      const text = input.value.trim();
      // Editing: an emptied field goes back to the default (null); creating: an empty field is left out.
      if (text === '') {
        if (editing) limits[input.dataset.limit] = null;
      } else limits[input.dataset.limit] = Number(text);
    }
    const result = { name: name.value.trim(), scopes: chosen, limits };
    if (list.length > 0 || editing) result.models = list.length > 0 ? list : null;
    if (expires.value || editing) result.expires_at = expires.value ? `${expires.value}T23:59:59.999Z` : null;
    return result;
  }

  function validate(request) {
    if (!request.name) return fail('Give the key a name.', name);
    if (request.scopes.length === 0) return fail('Choose at least one scope.', scopes()[0]);
    const bad = limitInputs().find((input) => input.value.trim() !== '' && !(Number.isInteger(Number(input.value)) && Number(input.value) >= 0));
    if (bad) return fail('A limit is a whole number, 0 for none, or empty for the default.', bad);
    return true;
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    error.hidden = true;
    const request = body();
    if (validate(request) !== true) return;
    const save = $('kf-save');
    save.disabled = true;
    try {
      const path = editing ? `/admin/keys/${encodeURIComponent(editing.id)}` : '/admin/keys';
      const response = await api(path, { method: editing ? 'PATCH' : 'POST', body: request });
      const key = await response.json();
      dialog.close();
      onSaved(key);
    } catch (failure) {
      fail(messageOf(failure));
    } finally {
      save.disabled = false;
    }
  });
  $('kf-cancel').addEventListener('click', () => dialog.close());

  return {
    open(key = null) {
      editing = key;
      form.reset();
      error.hidden = true;
      $('key-dialog-title').textContent = key ? `Edit ${key.name}` : 'New key';
      $('kf-save').textContent = key ? 'Save' : 'Create';
      if (key) {
        name.value = key.name;
        for (const box of scopes()) box.checked = key.scopes.includes(box.value);
        models.value = (key.models ?? []).join(', ');
        for (const input of limitInputs()) input.value = key.limits?.[input.dataset.limit] ?? '';
        expires.value = key.expires_at ? key.expires_at.slice(0, 10) : '';
      }
      dialog.showModal();
      name.focus();
    },
  };
}

/**
 * The keys section. `onChange(keys)` hears every new list (the exchanges picker lists them);
 * `onShowExchanges(key)` is the row's "Exchanges" button.
 */
export function initKeys({ onError, onChange, onShowExchanges }) {
  const $ = (id) => document.getElementById(id);
  const rows = document.querySelector('#keys-table tbody');
  const revoked = $('keys-revoked');
  const secret = secretBox($);
  let keys = [];

  async function load() {
    const query = revoked.checked ? '?include_revoked=true' : '';
    const { items } = await (await api(`/admin/keys${query}`)).json();
    keys = items;
    rows.replaceChildren(...items.map(row));
    $('keys-empty').hidden = items.length > 0;
    onChange(keys);
  }

  /** Runs `work` (a change on the server), then shows the list as it is now. */
  async function act(work = async () => {}) {
    try {
      await work();
      await load();
    } catch (failure) {
      onError(failure);
    }
  }

  const dialog = keyDialog($, {
    onSaved: (key) => {
      if (key.secret) secret.show(key);
      void act();
    },
  });

  function button(label, title, onClick, className = '') {
    const element = document.createElement('button');
    element.type = 'button';
    element.textContent = label;
    element.className = className;
    element.setAttribute('aria-label', title);
    element.title = title;
    element.addEventListener('click', onClick);
    return element;
  }

  function row(key) {
    const tr = document.createElement('tr');
    tr.dataset.keyId = key.id;
    tr.dataset.status = key.status;
    const name = cell('th', key.name);
    name.scope = 'row';
    const prefix = document.createElement('code');
    prefix.textContent = `${key.prefix}…`;
    const status = cell('span', key.status, `badge ${key.status === 'active' ? 'ok' : 'error'}`);
    const used = formatTime(key.last_used_at) ?? 'never';
    // The buttons sit in a box inside the cell: a flex cell would stop being a table cell.
    const actions = cell('div', '', 'row-actions');
    const path = `/admin/keys/${encodeURIComponent(key.id)}`;
    actions.append(button('Exchanges', `Last exchanges of ${key.name}`, () => onShowExchanges(key)));
    if (key.status !== 'revoked') {
      actions.append(
        button('Edit', `Edit ${key.name}`, () => dialog.open(key)),
        button('Rotate', `Rotate ${key.name}: a new secret, the old one stops working`, () => {
          if (!confirm(`Rotate "${key.name}"? Its current secret stops working at once.`)) return;
          void act(async () => secret.show(await (await api(`${path}/rotate`, { method: 'POST' })).json()));
        }),
        button('Revoke', `Revoke ${key.name}`, () => {
          if (!confirm(`Revoke "${key.name}"? Requests with it are refused from now on; this cannot be undone.`)) return;
          void act(() => api(`${path}/revoke`, { method: 'POST' }));
        }, 'danger'),
      );
    }
    const expiry = key.expires_at ? cell('div', '', 'muted small') : null;
    if (expiry) expiry.append(key.status === 'expired' ? 'expired ' : 'expires ', formatTime(key.expires_at));
    const statusCell = cell('td', status);
    if (expiry) statusCell.append(expiry);
    tr.append(
      name,
      cell('td', prefix, 'aux-col'),
      statusCell,
      cell('td', key.scopes.join(', ')),
      cell('td', key.models ? key.models.join(', ') : 'all', 'wide-col'),
      cell('td', limitsText(key.limits), 'wide-col'),
      cell('td', used, 'aux-col'),
      cell('td', actions),
    );
    return tr;
  }

  $('key-new').addEventListener('click', () => dialog.open());
  revoked.addEventListener('change', () => void act());
  return { load, keys: () => keys, hideSecret: secret.hide };
}
