import { hash, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AppConfig } from '../../config/app-config';

interface StoredKey {
  id: string;
  digest: Buffer;
}

// One-shot `hash()`: no Hash object per request (it checks every request's key).
const digestOf = (key: string): Buffer => hash('sha256', key, 'buffer');

/**
 * The accepted API keys, held only as SHA-256 digests. Comparing digests of equal length
 * with `timingSafeEqual`, against every key without stopping at the first match, keeps the
 * check constant-time in both the key's content and its length.
 */
export class ApiKeyRing {
  private readonly keys: StoredKey[];

  constructor(primary: string, extra: readonly string[] = []) {
    this.keys = [
      { id: 'primary', digest: digestOf(primary) },
      ...extra.map((key, index) => ({ id: `extra-${index + 1}`, digest: digestOf(key) })),
    ];
  }

  /** Returns the id of the matching key ("primary", "extra-1", …) or null. */
  identify(candidate: string): string | null {
    const digest = digestOf(candidate);
    let found: string | null = null;
    for (const key of this.keys) {
      if (timingSafeEqual(key.digest, digest) && found === null) found = key.id;
    }
    return found;
  }
}

export interface ResolvedApiKey {
  key: string;
  /** Where the key came from; `generated` means it was just created and must be shown once. */
  source: 'env' | 'file' | 'generated';
  file?: string;
}

/**
 * `API_KEY` when set; otherwise the key stored in `<data dir>/api-key`, generated (mode 0600)
 * on first start.
 */
export function resolveApiKey(config: AppConfig): ResolvedApiKey {
  if (config.auth.apiKey) return { key: config.auth.apiKey, source: 'env' };
  const file = join(config.dataDir, 'api-key');
  if (existsSync(file)) {
    const key = readFileSync(file, 'utf8').trim();
    if (key.length >= 16) return { key, source: 'file', file };
  }
  mkdirSync(config.dataDir, { recursive: true });
  const key = `vega_${randomBytes(24).toString('base64url')}`;
  writeFileSync(file, `${key}\n`, { mode: 0o600 });
  chmodSync(file, 0o600); // the mode above is ignored when the file already existed
  return { key, source: 'generated', file };
}
