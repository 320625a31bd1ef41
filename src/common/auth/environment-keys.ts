import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AppConfig } from '../../config/app-config';
import { StaticKeyStore } from './api-key-store';
import { SCOPES, type Principal } from './principal';

/**
 * The bootstrap keys: `API_KEY` (or the generated one) as `primary`, `API_KEYS_EXTRA` as
 * `extra-1`, `extra-2`… Each holds every scope and every model; `RATE_LIMIT_OVERRIDES` sets
 * their requests per minute.
 */
export function environmentKeys(primary: string, config: AppConfig): StaticKeyStore {
  const secrets = [primary, ...config.auth.extraKeys];
  return new StaticKeyStore(
    secrets.map((secret, index) => {
      const keyId = index === 0 ? 'primary' : `extra-${index}`;
      const requestsPerMinute = config.rateLimit.overrides[secret];
      const principal: Principal = {
        keyId,
        name: keyId,
        kind: 'bootstrap',
        scopes: new Set(SCOPES),
        models: null,
        limits: requestsPerMinute === undefined ? {} : { requestsPerMinute },
      };
      return { secret, principal };
    }),
  );
}

/**
 * `API_KEYS_EXTRA` still works (admin keys `extra-1`…), but keys for people and machines belong
 * in the database, where they can be scoped, limited, rotated and revoked without a restart.
 */
export function extraKeysDeprecation(config: AppConfig): string | undefined {
  if (config.auth.extraKeys.length === 0) return undefined;
  return `API_KEYS_EXTRA is deprecated (${config.auth.extraKeys.length} key(s), each with every scope): create managed keys instead with "vega keys create" or POST /admin/keys, then remove API_KEYS_EXTRA`;
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
