import type { AppConfig } from '../../config/app-config';

export const REDACTED = '[redacted]';

/** A name that says its value is (or holds) a secret; everything under it is redacted. */
const SECRET_NAME = /key|secret|token|passw|credential|webhook|auth|cookie|signature/i;
/** Maps whose keys are secrets (per-API-key rate limits): the keys are replaced, the values kept. */
const SECRET_KEYED_MAPS = new Set(['rateLimit.overrides']);

/**
 * The effective configuration with every secret redacted, for `GET /admin/status`. Errs on the
 * side of hiding: any field whose name looks secret is redacted whole (leaving only whether it is
 * set, and how many entries a list has), map keys that are API keys are replaced, and any
 * `user:password@` in a URL is removed.
 */
export function redactConfig(config: AppConfig): Record<string, unknown> {
  return redactValue(config, '', false) as Record<string, unknown>;
}

function redactValue(value: unknown, path: string, secret: boolean): unknown {
  if (value === undefined || value === null) return null;
  if (Array.isArray(value)) return value.map((item) => redactValue(item, path, secret));
  if (typeof value === 'object') {
    if (SECRET_KEYED_MAPS.has(path)) {
      return Object.fromEntries(Object.values(value).map((item, index) => [`${REDACTED}#${index + 1}`, redactValue(item, path, true)]));
    }
    return Object.fromEntries(
      Object.entries(value).map(([name, child]) => {
        const childPath = path ? `${path}.${name}` : name;
        return [name, redactValue(child, childPath, secret || SECRET_NAME.test(name))];
      }),
    );
  }
  if (typeof value === 'string') return secret ? REDACTED : redactUrlCredentials(value);
  return value;
}

/** `http://user:pass@host/` → `http://[redacted]@host/`; other strings unchanged. */
export function redactUrlCredentials(text: string): string {
  return text.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@\s]*@/i, `$1${REDACTED}@`);
}
