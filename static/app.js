// The Vega chat page: key, model, streamed answers with Stop, images and thinking, session
// memory, history with search and paging, ratings. Model text only ever reaches the page through renderMarkdown (which
// escapes it first) or as text nodes. The research, username and admin panels live in their own modules.
import { initAdminPanel, whoAmI } from './admin.js';
import { api, describeFailure, isPageWideFailure, loadKey, messageOf, saveKey } from './api.js';
import { initAttachments, thumbnail } from './attachments.js';
import { renderMarkdown, snippetFragment } from './markdown.js';
import { initResearchPanel } from './research.js';
import { readSse } from './sse.js';
import { initTabs } from './tabs.js';
import { initUsernamePanel } from './username.js';

const $ = (id) => document.getElementById(id);
const ui = {
  keyForm: $('key-form'),
  key: $('api-key'),
  model: $('model'),
  stream: $('stream'),
  think: $('think'),
  imageInput: $('image-input'),
  attachments: $('attachments'),
  notice: $('notice'),
  noticeText: $('notice-text'),
  sessionId: $('session-id'),
  newSession: $('new-session'),
  messages: $('messages'),
  empty: $('empty'),
  composer: $('composer'),
  prompt: $('prompt'),
  send: $('send'),
  stop: $('stop'),
  history: $('history'),
  historyToggle: $('history-toggle'),
  historySearch: $('history-search'),
  historyQ: $('history-q'),
  historyList: $('history-list'),
  historyEmpty: $('history-empty'),
  historyMore: $('history-more'),
};

const prefs = {
  get session() {
    return localStorage.getItem('vega.sessionId');
  },
  set session(id) {
    localStorage.setItem('vega.sessionId', id);
  },
  get model() {
    return localStorage.getItem('vega.model') ?? '';
  },
  set model(name) {
    localStorage.setItem('vega.model', name);
  },
  get stream() {
    return localStorage.getItem('vega.stream') !== 'false';
  },
  set stream(on) {
    localStorage.setItem('vega.stream', String(on));
  },
  get think() {
    return localStorage.getItem('vega.think') === 'true';
  },
  set think(on) {
    localStorage.setItem('vega.think', String(on));
  },
};

/** 16 hex characters, like the ids the server makes: the page names its sessions itself, so a
 * stopped first answer (which never gets a `done` event) still belongs to the session. */
function newSessionId() {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
}

// ---- notices ---------------------------------------------------------------------------------

/** A failure (the default) is an alert in the error style; `kind: 'info'` is a neutral prompt. */
function showNotice(message, { kind = 'error' } = {}) {
  ui.noticeText.textContent = message;
  ui.notice.className = `notice ${kind}`;
  ui.notice.setAttribute('role', kind === 'error' ? 'alert' : 'status');
  ui.notice.hidden = false;
}

function clearNotice() {
  ui.notice.hidden = true;
  ui.noticeText.textContent = '';
}

// ---- ratings ---------------------------------------------------------------------------------

function ratingControl(conversationId, current) {
  const box = document.createElement('span');
  box.className = 'rating';
  box.setAttribute('role', 'group');
  box.setAttribute('aria-label', 'Rate this answer');
  const paint = (rating) => {
    for (const button of box.children) {
      const value = Number(button.dataset.value);
      button.classList.toggle('on', rating !== null && value <= rating);
      button.setAttribute('aria-pressed', String(rating === value));
    }
  };
  for (let value = 1; value <= 5; value += 1) {
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'star';
    button.dataset.value = String(value);
    button.textContent = '★';
    button.title = `Rate ${value} of 5`;
    button.setAttribute('aria-label', `Rate ${value} of 5`);
    button.addEventListener('click', async () => {
      try {
        const response = await api('/feedback', { body: { conversation_id: conversationId, rating: value } });
        const row = await response.json();
        paint(row.rating);
        box.dataset.rating = String(row.rating);
      } catch (error) {
        showNotice(messageOf(error));
      }
    });
    box.append(button);
  }
  paint(current ?? null);
  if (current) box.dataset.rating = String(current);
  return box;
}

// ---- chat messages -------------------------------------------------------------------------------

function scrollToEnd(force = false) {
  const list = ui.messages;
  const nearEnd = list.scrollHeight - list.scrollTop - list.clientHeight < 80;
  if (force || nearEnd) list.scrollTop = list.scrollHeight;
}

function addUserMessage(text, images = []) {
  const item = document.createElement('li');
  item.className = 'msg user';
  if (images.length > 0) {
    const thumbs = document.createElement('div');
    thumbs.className = 'thumbs';
    thumbs.append(...images.map((url, index) => thumbnail(url, `image ${index + 1}`)));
    item.append(thumbs);
  }
  const body = document.createElement('div');
  body.className = 'body';
  body.textContent = text;
  item.append(body);
  ui.messages.append(item);
  ui.empty.hidden = true;
  scrollToEnd(true);
}

/** An answer bubble that fills as tokens arrive, the model's reasoning folded above it. */
class AnswerView {
  constructor() {
    this.text = '';
    this.thinkingText = '';
    this.thinking = null;
    this.settled = false;
    this.item = document.createElement('li');
    this.item.className = 'msg assistant pending';
    this.body = document.createElement('div');
    this.body.className = 'body markdown';
    this.meta = document.createElement('div');
    this.meta.className = 'meta';
    this.status = document.createElement('span');
    this.status.className = 'status';
    this.status.textContent = 'thinking…';
    this.meta.append(this.status);
    this.item.append(this.body, this.meta);
    ui.messages.append(this.item);
    ui.empty.hidden = true;
    scrollToEnd(true);
  }

  append(text) {
    this.text += text;
    this.status.textContent = 'answering…';
    this.render();
  }

  /** More reasoning: a closed <details> above the answer (the person opens it), created on the first piece. */
  think(text) {
    if (!this.thinking) {
      this.thinking = document.createElement('details');
      this.thinking.className = 'thinking';
      const summary = document.createElement('summary');
      summary.textContent = 'Thinking…';
      const body = document.createElement('div');
      body.className = 'thinking-text';
      this.thinking.append(summary, body);
      this.item.insertBefore(this.thinking, this.body);
    }
    this.thinkingText += text;
    // A text node: the reasoning is shown as written, never as HTML.
    this.thinking.lastChild.textContent = this.thinkingText;
    if (!this.text) this.status.textContent = 'thinking…';
    scrollToEnd();
  }

  /** The reasoning is complete: the summary says so. */
  thought() {
    if (this.thinking) this.thinking.firstChild.textContent = 'Thought';
  }

  render() {
    this.body.innerHTML = renderMarkdown(this.text);
    scrollToEnd();
  }

  finish({ conversation_id, model, cached, rating = null, status = 'ok' }) {
    this.settled = true;
    this.thought();
    this.item.classList.remove('pending');
    this.item.dataset.conversationId = String(conversation_id);
    this.item.dataset.status = status;
    // null: the database was locked and the exchange waits in the server's spool (no id to rate yet).
    const stored = conversation_id === null ? 'storage pending' : `#${conversation_id}`;
    const label = status === 'aborted' ? 'stopped' : status;
    const parts = [model, cached ? 'cached' : null, status !== 'ok' && status !== 'cached' ? label : null, stored];
    this.status.textContent = parts.filter(Boolean).join(' · ');
    if (conversation_id !== null) this.meta.append(ratingControl(conversation_id, rating));
  }

  stopped() {
    if (this.settled) return;
    this.settled = true;
    this.thought();
    this.item.classList.remove('pending');
    this.item.dataset.status = 'aborted';
    this.status.textContent = 'stopped — the partial answer is kept in your history';
  }

  fail(message) {
    this.settled = true;
    this.thought();
    this.item.classList.remove('pending');
    this.item.classList.add('failed');
    this.item.dataset.status = 'error';
    this.status.textContent = message;
  }
}

function showExchange(row) {
  addUserMessage(row.prompt);
  const answer = new AnswerView();
  answer.text = row.response ?? '';
  answer.render();
  answer.finish({ conversation_id: row.id, model: row.model, cached: row.status === 'cached', rating: row.rating, status: row.status });
}

// ---- sending ---------------------------------------------------------------------------------

let running = null;

function setBusy(busy) {
  ui.send.disabled = busy;
  ui.stop.disabled = !busy;
  ui.prompt.setAttribute('aria-busy', String(busy));
}

async function streamAnswer(body, answer, signal) {
  const response = await api('/chat/sse', { body, signal });
  let settled = false;
  for await (const event of readSse(response, signal)) {
    const data = JSON.parse(event.data);
    if (event.event === 'token') {
      answer.thought();
      answer.append(data.text);
    } else if (event.event === 'thinking') answer.think(data.text);
    else if (event.event === 'done') {
      answer.finish(data);
      settled = true;
    } else if (event.event === 'error') {
      // Vega itself is stopping (SIGTERM): not the model backend's fault.
      answer.fail(data.message === 'server shutting down' ? 'Vega is shutting down: the partial answer is kept; retry in a moment.' : describeFailure(data.status, data.message));
      settled = true;
    }
  }
  if (!settled && !signal.aborted) answer.fail('The answer was cut off: the connection closed early.');
}

async function wholeAnswer(body, answer, signal) {
  const response = await api('/chat', { body, signal });
  const result = await response.json();
  if (result.thinking) answer.think(result.thinking);
  answer.append(result.response);
  answer.finish(result);
}

async function send(prompt, images) {
  if (!loadKey()) {
    showNotice('Enter your API key first (it is printed when Vega starts, and kept in data/api-key).', { kind: 'info' });
    ui.key.focus();
    return;
  }
  clearNotice();
  addUserMessage(prompt, images);
  const answer = new AnswerView();
  const controller = new AbortController();
  running = controller;
  setBusy(true);
  const body = { prompt, session_id: prefs.session };
  if (ui.model.value) body.model = ui.model.value;
  if (ui.think.checked) body.think = true;
  if (images.length > 0) body.images = images;
  try {
    if (ui.stream.checked) await streamAnswer(body, answer, controller.signal);
    else await wholeAnswer(body, answer, controller.signal);
  } catch (error) {
    if (!controller.signal.aborted) {
      answer.fail(messageOf(error));
      if (isPageWideFailure(error)) showNotice(error.message);
    }
  } finally {
    running = null;
    setBusy(false);
    if (controller.signal.aborted) {
      answer.stopped();
      void adoptStoppedRow(answer, body.session_id);
    } else void loadHistory({ reset: true });
  }
}

// Waits between looks for a stopped answer's row: about 12 s in all, most of it after the first second.
const STOPPED_ROW_WAITS = [100, 150, 250, 500, 1000, 1000, 1000, 2000, 2000, 2000, 2000];

/**
 * A stopped stream never gets its `done` event: the server stores the partial answer as
 * `aborted` only once it has seen the disconnect, a moment later. Wait for that row (the
 * newest of this session, one the page does not show yet), then give the bubble its id and
 * rating control and refresh the history, so both show it without a reload.
 */
async function adoptStoppedRow(answer, sessionId) {
  const shown = new Set(Array.from(ui.messages.querySelectorAll('li[data-conversation-id]'), (item) => item.dataset.conversationId));
  // A few rows, not one: an exchange sent right after Stop may be stored first.
  const params = new URLSearchParams({ session_id: sessionId, limit: '5' });
  for (const wait of STOPPED_ROW_WAITS) {
    await new Promise((resolve) => setTimeout(resolve, wait));
    let rows;
    try {
      rows = (await (await api(`/history?${params}`)).json()).items;
    } catch {
      break; // the history refresh below reports what is wrong
    }
    const row = rows.find((item) => item.status === 'aborted' && !shown.has(String(item.id)));
    if (row) {
      answer.finish({ conversation_id: row.id, model: row.model, rating: row.rating, status: row.status });
      break;
    }
  }
  await loadHistory({ reset: true });
}

// ---- session ---------------------------------------------------------------------------------

function startSession(id = newSessionId()) {
  prefs.session = id;
  ui.sessionId.textContent = id;
  ui.messages.replaceChildren();
  ui.empty.hidden = false;
}

async function restoreSession() {
  const id = prefs.session;
  if (!id) return startSession();
  startSession(id);
  if (!loadKey()) return;
  try {
    const page = await (await api(`/session/${encodeURIComponent(id)}`)).json();
    for (const row of page.items) showExchange(row);
    scrollToEnd(true);
  } catch (error) {
    showNotice(messageOf(error));
  }
}

/** A one-line preview without the Markdown punctuation. */
function plainText(markdown) {
  return markdown
    .replace(/```[\w+#.-]*|[*`~]|^#+\s|^\s*>\s?/gm, '')
    .replace(/\[([^\]]+)\]\([^)]*\)/g, '$1')
    .replace(/\s+/g, ' ')
    .trim();
}

// ---- history ---------------------------------------------------------------------------------

const history = { cursor: null, q: '', loading: null };

function historyItem(row) {
  const item = document.createElement('li');
  item.className = 'history-item';
  item.dataset.conversationId = String(row.id);
  const head = document.createElement('button');
  head.type = 'button';
  head.className = 'history-head';
  head.setAttribute('aria-expanded', 'false');
  const when = document.createElement('time');
  when.dateTime = row.ts;
  when.textContent = new Date(row.ts).toLocaleString();
  const status = document.createElement('span');
  status.className = `badge ${row.status}`;
  status.textContent = row.status;
  const prompt = document.createElement('span');
  prompt.className = 'history-prompt';
  prompt.textContent = row.prompt;
  head.append(when, status, prompt);
  const preview = document.createElement('p');
  preview.className = 'history-preview';
  if (row.snippet) preview.append(snippetFragment(row.snippet));
  else preview.textContent = plainText(row.response ?? '').slice(0, 160);
  item.append(head, preview);

  let details = null;
  head.addEventListener('click', () => {
    const open = head.getAttribute('aria-expanded') !== 'true';
    head.setAttribute('aria-expanded', String(open));
    if (open && !details) {
      details = document.createElement('div');
      details.className = 'history-details';
      const answer = document.createElement('div');
      answer.className = 'markdown';
      answer.innerHTML = renderMarkdown(row.response ?? '');
      const actions = document.createElement('div');
      actions.className = 'meta';
      actions.append(ratingControl(row.id, row.rating));
      if (row.session_id) {
        const resume = document.createElement('button');
        resume.type = 'button';
        resume.textContent = 'Continue this session';
        resume.addEventListener('click', () => {
          prefs.session = row.session_id;
          void restoreSession();
          ui.prompt.focus();
        });
        actions.append(resume);
      }
      details.append(answer, actions);
      item.append(details);
      void showStoredExchange(row.id, details, answer);
    }
    if (details) details.hidden = !open;
    preview.hidden = open;
  });
  return item;
}

/**
 * What the stored exchange holds beyond its text (GET /conversations/{id}): the images the
 * prompt came with (by type and size: the pixels are not kept), the model's reasoning folded
 * above the answer, and the tool calls it made.
 */
async function showStoredExchange(id, details, answer) {
  let exchange;
  try {
    exchange = await (await api(`/conversations/${id}`)).json();
  } catch {
    return; // the text shown already is the history row's
  }
  const extras = [];
  if (exchange.kind && exchange.kind !== 'chat') {
    const kind = document.createElement('p');
    kind.className = 'meta';
    kind.textContent = `${exchange.kind} call`;
    extras.push(kind);
  }
  const lastUser = (exchange.request?.messages ?? []).filter((message) => message.role === 'user').at(-1);
  const images = lastUser?.images ?? [];
  if (images.length > 0) {
    const line = document.createElement('p');
    line.className = 'meta stored-images';
    line.textContent = `With ${images.length === 1 ? 'an image' : `${images.length} images`}: ${images
      .map((image) => `${image.mime.replace('image/', '')}, ${Math.max(1, Math.round(image.bytes / 1024))} KB`)
      .join('; ')}`;
    extras.push(line);
  }
  if (exchange.answer?.thinking) {
    const thinking = document.createElement('details');
    thinking.className = 'thinking';
    const summary = document.createElement('summary');
    summary.textContent = 'Thought';
    const body = document.createElement('div');
    body.className = 'thinking-text';
    body.textContent = exchange.answer.thinking;
    thinking.append(summary, body);
    extras.push(thinking);
  }
  for (const call of exchange.answer?.tool_calls ?? []) {
    const line = document.createElement('p');
    line.className = 'meta tool-call';
    const code = document.createElement('code');
    code.textContent = `${call.name}(${JSON.stringify(call.arguments)})`;
    line.append('Called ', code);
    extras.push(line);
  }
  for (const extra of extras) details.insertBefore(extra, answer);
}

async function loadHistory({ reset = false } = {}) {
  if (!loadKey()) return;
  if (reset) history.cursor = null;
  const params = new URLSearchParams({ limit: '20' });
  if (history.q) params.set('q', history.q);
  if (history.cursor) params.set('cursor', history.cursor);
  const loading = (async () => {
    const page = await (await api(`/history?${params}`)).json();
    if (reset) ui.historyList.replaceChildren();
    for (const row of page.items) ui.historyList.append(historyItem(row));
    history.cursor = page.next_cursor;
    ui.historyMore.hidden = !page.next_cursor;
    ui.historyEmpty.hidden = ui.historyList.children.length > 0;
    ui.historyEmpty.textContent = history.q ? 'No match.' : 'Nothing here yet.';
  })();
  history.loading = loading;
  try {
    await loading;
  } catch (error) {
    if (history.loading === loading) showNotice(messageOf(error));
  }
}

// ---- models ----------------------------------------------------------------------------------

async function loadModels() {
  if (!loadKey()) return;
  try {
    const list = await (await api('/models')).json();
    const wanted = prefs.model || list.default_model;
    const options = list.items.map((model) => {
      const option = document.createElement('option');
      option.value = model.name;
      option.textContent = model.parameter_size ? `${model.name} (${model.parameter_size})` : model.name;
      return option;
    });
    const fallback = document.createElement('option');
    fallback.value = '';
    fallback.textContent = `default (${list.default_model})`;
    ui.model.replaceChildren(fallback, ...options);
    ui.model.value = list.items.some((model) => model.name === wanted) ? wanted : '';
  } catch (error) {
    showNotice(messageOf(error));
  }
}

// ---- wiring ----------------------------------------------------------------------------------

/** Whether the key may see the Admin tab: GET /me names its scopes. */
async function loadPrincipal() {
  const me = await whoAmI();
  const shown = !$('panel-admin').hidden;
  const available = Boolean(me?.scopes?.includes('admin'));
  admin.reset(me);
  // Selecting the tab loads it; a tab already shown (another admin key saved) loads again here.
  tabs.setAvailable('tab-admin', available);
  if (shown && available) void admin.refresh();
}

function refreshAll() {
  clearNotice();
  void loadModels();
  void restoreSession();
  void loadHistory({ reset: true });
  void loadPrincipal();
}

ui.key.value = loadKey();
ui.stream.checked = prefs.stream;
ui.think.checked = prefs.think;
const attachments = initAttachments({ input: ui.imageInput, list: ui.attachments, prompt: ui.prompt, showNotice });

ui.keyForm.addEventListener('submit', (event) => {
  event.preventDefault();
  saveKey(ui.key.value.trim());
  refreshAll();
});
ui.stream.addEventListener('change', () => {
  prefs.stream = ui.stream.checked;
});
ui.think.addEventListener('change', () => {
  prefs.think = ui.think.checked;
});
ui.model.addEventListener('change', () => {
  prefs.model = ui.model.value;
});
ui.newSession.addEventListener('click', () => {
  startSession();
  ui.prompt.focus();
});
ui.composer.addEventListener('submit', (event) => {
  event.preventDefault();
  const prompt = ui.prompt.value.trim();
  if (!prompt || running) return;
  if (!loadKey()) return void send(prompt, []);
  ui.prompt.value = '';
  void send(prompt, attachments.take());
});
ui.prompt.addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    ui.composer.requestSubmit();
  }
});
ui.stop.addEventListener('click', () => running?.abort());
ui.notice.querySelector('#notice-close').addEventListener('click', clearNotice);
ui.historySearch.addEventListener('submit', (event) => {
  event.preventDefault();
  history.q = ui.historyQ.value.trim();
  void loadHistory({ reset: true });
});
ui.historyMore.addEventListener('click', () => void loadHistory());
ui.historyToggle.addEventListener('click', () => {
  const open = !ui.history.classList.contains('open');
  ui.history.classList.toggle('open', open);
  ui.historyToggle.setAttribute('aria-expanded', String(open));
});

initResearchPanel({ showNotice });
initUsernamePanel({ showNotice });
const admin = initAdminPanel({ showNotice });
const tabs = initTabs({
  onShow: (panel) => {
    // The history drawer belongs to the chat panel.
    ui.historyToggle.hidden = panel !== 'panel-chat';
    if (panel === 'panel-admin') void admin.refresh();
  },
});

if (loadKey()) refreshAll();
else {
  startSession(prefs.session ?? undefined);
  showNotice('Enter your API key to start (it is printed when Vega starts, and kept in data/api-key).', { kind: 'info' });
}
