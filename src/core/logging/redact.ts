/** What a secret's value is replaced with in a log line. */
export const CENSOR = '[REDACTED]';

/**
 * A name whose value is a credential: `key`, `token`, `authorization`, `password`, anything ending in
 * `key`, `token` or `secret` (`api_key`, `x-api-key`, `access_token`, `client_secret`), any case.
 */
const SECRET_NAME = /(?:key|token|secret|authorization|password|passwd|cookie)$/i;

export function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name);
}

/**
 * In free text (a URL, an error message, a stack): the value of a key-like query parameter, of
 * `name: value` / `"name":"value"` pairs with a key-like name, a bearer or basic credential, and the
 * password of a URL's user info.
 */
const SECRET_IN_TEXT = new RegExp(
  [
    // ?api_key=…, &token=…, ;secret=… (and their URL-encoded names)
    String.raw`([?&;][\w.%-]*(?:key|token|secret|authorization|password|passwd|cookie)=)[^&#\s"'\\]*`,
    // "x-api-key":"…", api_key: '…', authorization=… (JSON, inspected objects, headers); \" in JSON-in-JSON
    String.raw`((?:\\?["'])?[\w-]*(?:key|token|secret|authorization|password|passwd|cookie)(?:\\?["'])?\s*[:=]\s*(?:\\?["'])?)(?!\[REDACTED\])(?:(?:Bearer|Basic)\s+)?[^\s"'\\,}&]+`,
    // Authorization values
    String.raw`(\b(?:Bearer|Basic)\s+)[A-Za-z0-9._~+/=-]+`,
    // scheme://user:password@host
    String.raw`(\b[a-z][a-z0-9+.-]*://[^/\s:@]*:)[^/\s@]+(?=@)`,
  ].join('|'),
  'gi',
);

/** A quick test before the full pattern: text without any of these cannot hold a secret. */
const MAYBE_SECRET = /key|token|secret|auth|pass|cookie|bearer|basic|:\/\//i;

export function redactText(text: string): string {
  if (!MAYBE_SECRET.test(text)) return text;
  return text.replace(SECRET_IN_TEXT, (_match, query?: string, pair?: string, scheme?: string, userInfo?: string) => {
    return `${query ?? pair ?? scheme ?? userInfo ?? ''}${CENSOR}`;
  });
}

/** How deep `redact` looks into nested objects; deeper values are replaced whole. */
const MAX_DEPTH = 6;

/**
 * A copy of `value` with the value of every key-like property replaced and every string passed
 * through `redactText`; `value` itself when there was nothing to redact (no copy on the hot path).
 * An error is copied with the same prototype, so pino's serializer still names its type.
 */
export function redact(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return redactText(value);
  if (value === null || typeof value !== 'object') return value;
  if (depth >= MAX_DEPTH) return CENSOR;
  if (value instanceof Error) return redactError(value, depth);
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    value.forEach((item, index) => {
      const next = redact(item, depth + 1);
      if (next !== item) (copy ??= value.slice())[index] = next;
    });
    return copy ?? value;
  }
  let copy: Record<string, unknown> | undefined;
  // for…in rather than Object.entries: no array per line for the usual, clean, request line.
  for (const name in value) {
    if (!Object.hasOwn(value, name)) continue;
    const item = (value as Record<string, unknown>)[name];
    const next = isSecretName(name) && item !== undefined && item !== null ? CENSOR : redact(item, depth + 1);
    if (next !== item) (copy ??= { ...value })[name] = next;
  }
  return copy ?? value;
}

function redactError(error: Error, depth: number): Error {
  const message = redactText(error.message);
  const stack = error.stack === undefined ? undefined : redactText(error.stack);
  const fields = { ...error };
  const redactedFields = redact(fields, depth) as Record<string, unknown>;
  if (message === error.message && stack === error.stack && redactedFields === fields) return error;
  const copy = Object.assign(Object.create(Object.getPrototypeOf(error) as object) as Error, redactedFields);
  copy.message = message;
  copy.stack = stack;
  return copy;
}
