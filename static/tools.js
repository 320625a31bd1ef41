// Helpers shared by the research, username and admin panels: a request with a spinner and a readable
// error, table cells made of text, and links that are only ever made from http(s) URLs.
import { ApiError, isPageWideFailure, loadKey, messageOf } from './api.js';

/** The URL as a `URL` when it is http(s), else null (a `javascript:` or `data:` address never becomes a link). */
export function httpUrl(text) {
  try {
    const url = new URL(String(text));
    return url.protocol === 'http:' || url.protocol === 'https:' ? url : null;
  } catch {
    return null;
  }
}

/** A table cell (or any element) holding text — never parsed as HTML — or a node. */
export function cell(tag, content, className) {
  const element = document.createElement(tag);
  if (className) element.className = className;
  if (typeof content === 'string') element.textContent = content;
  else element.append(content);
  return element;
}

/**
 * A link to an outside page that opens in a new tab without handing it this page (`noopener`) or
 * its address (`noreferrer`); plain text when the URL is not http(s). The label is a text node.
 */
export function outsideLink(url, label = url) {
  const safe = httpUrl(url);
  if (!safe) {
    const text = document.createElement('span');
    text.className = 'not-a-link';
    text.textContent = label;
    return text;
  }
  const link = document.createElement('a');
  link.href = safe.href;
  link.target = '_blank';
  link.rel = 'noopener noreferrer';
  link.textContent = label;
  return link;
}

/**
 * One panel's request cycle: the form's button disabled and a spinner with `busyText` while
 * `work` runs, then either the result (work's own business) or the error in the panel's error line.
 * Failures that concern the whole page (no server, key, rate limit, backend down) also go to the
 * page notice, as the chat does. `wording` may reword an `ApiError` for this panel.
 */
export function panelRunner({ button, status, statusText, error, empty, showNotice, wording = () => null }) {
  let running = false;
  return async (busyText, work) => {
    if (running) return;
    if (!loadKey()) {
      showNotice('Enter your API key first (it is printed when Vega starts, and kept in data/api-key).');
      return;
    }
    running = true;
    button.disabled = true;
    error.hidden = true;
    error.textContent = '';
    statusText.textContent = busyText;
    status.hidden = false;
    status.parentElement.setAttribute('aria-busy', 'true');
    try {
      await work();
      empty.hidden = true;
    } catch (failure) {
      error.textContent = (failure instanceof ApiError && wording(failure)) || messageOf(failure);
      error.hidden = false;
      if (isPageWideFailure(failure)) showNotice(failure.message);
    } finally {
      running = false;
      button.disabled = false;
      status.hidden = true;
      status.parentElement.setAttribute('aria-busy', 'false');
    }
  };
}
