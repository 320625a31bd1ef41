// Talks to the Vega API with the key from the key field, and turns failures into sentences a
// person can act on.

const KEY_STORAGE = 'vega.apiKey';

export function loadKey() {
  return localStorage.getItem(KEY_STORAGE) ?? '';
}

export function saveKey(key) {
  if (key) localStorage.setItem(KEY_STORAGE, key);
  else localStorage.removeItem(KEY_STORAGE);
}

export class ApiError extends Error {
  constructor(status, message, retryAfter, serverMessage = '') {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.retryAfter = retryAfter;
    /** The server's own `message`, for callers that word a failure themselves. */
    this.serverMessage = serverMessage;
  }
}

/** The readable message of any failure: an `ApiError`'s sentence, or what went wrong otherwise. */
export function messageOf(error) {
  return error instanceof ApiError ? error.message : `Something went wrong: ${error?.message ?? error}`;
}

/** Failures that concern the whole page (no server, wrong key, rate limit, backend down), not one request. */
export function isPageWideFailure(error) {
  return error instanceof ApiError && [0, 401, 429, 503].includes(error.status);
}

/** The readable message for an HTTP status, with the server's own message as detail where it helps. */
export function describeFailure(status, serverMessage = '', retryAfter = null) {
  const retry = retryAfter ? `retry in ${retryAfter} s` : 'retry in a moment';
  switch (status) {
    case 0:
      return 'Cannot reach Vega. Is the server running?';
    case 401:
      return 'The server refused the request: check your API key.';
    case 429:
      return `Slow down: too many requests, ${retry}.`;
    case 503:
      return `The model backend is down, ${retry}.${serverMessage ? ` (${serverMessage})` : ''}`;
    case 504:
      return `The model took too long to answer.${serverMessage ? ` (${serverMessage})` : ''}`;
    case 502:
      return `The model backend failed.${serverMessage ? ` (${serverMessage})` : ''}`;
    default:
      return serverMessage || `The request failed (HTTP ${status}).`;
  }
}

function retryAfterOf(response) {
  const value = Number(response.headers.get('retry-after'));
  return Number.isFinite(value) && value > 0 ? Math.ceil(value) : null;
}

/**
 * fetch with the key in the `X-API-Key` header (never in the URL) and a JSON body. Resolves with
 * the response when it is 2xx; otherwise throws an `ApiError` carrying the readable message.
 */
export async function api(path, { method, body, signal } = {}) {
  const headers = { accept: 'application/json, text/event-stream' };
  const key = loadKey();
  if (key) headers['x-api-key'] = key;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let response;
  try {
    response = await fetch(path, {
      method: method ?? (body === undefined ? 'GET' : 'POST'),
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
      cache: 'no-store',
    });
  } catch (error) {
    if (signal?.aborted) throw error;
    throw new ApiError(0, describeFailure(0), null);
  }
  if (response.ok) return response;
  let serverMessage = '';
  try {
    const json = await response.json();
    serverMessage = Array.isArray(json.message) ? json.message.join('; ') : String(json.message ?? '');
  } catch {
    // not JSON: the status says enough
  }
  const retryAfter = retryAfterOf(response);
  throw new ApiError(response.status, describeFailure(response.status, serverMessage, retryAfter), retryAfter, serverMessage);
}
