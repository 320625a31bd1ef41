import { SCOPES, type KeyLimits, type Scope } from '../../common/auth/principal';
import { InvalidInputError } from '../../common/errors/app-errors';
import { parseIsoUtc } from '../history/iso-date';
import { LIMIT_FIELDS, LIMIT_NAMES } from '../../common/auth/key-limits';

/**
 * The rules of a key's fields, for the API and the CLI alike (both hand over what the user
 * sent, unchecked): each bad value is refused with a message naming the field as the API does.
 */

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** Managed key ids: `key_` and 16 hex digits. A name cannot look like one (`{id}` takes either). */
export const KEY_ID = /^key_[0-9a-f]{16}$/;
/** The bootstrap keys' ids, which usage reports and logs show as their names. */
const BOOTSTRAP_NAME = /^(primary|extra-\d+)$/;
const MAX_LIMIT = 1e12;
const MAX_MODELS = 100;

export function parseName(value: unknown): string {
  if (value === undefined) throw new InvalidInputError('name is required');
  if (typeof value !== 'string' || !NAME.test(value)) {
    throw new InvalidInputError('name must be 1 to 64 letters, digits, ".", "_" or "-", starting with a letter or digit');
  }
  if (BOOTSTRAP_NAME.test(value) || KEY_ID.test(value)) throw new InvalidInputError(`name "${value}" is reserved (the environment's keys, key ids)`);
  return value;
}

export function parseScopes(value: unknown): Scope[] {
  if (value === undefined) throw new InvalidInputError('scopes is required');
  if (!Array.isArray(value) || value.length === 0) throw new InvalidInputError(`scopes must be a non-empty list of: ${SCOPES.join(', ')}`);
  for (const scope of value) {
    if (!(SCOPES as readonly unknown[]).includes(scope)) {
      throw new InvalidInputError(`scopes: unknown scope ${JSON.stringify(scope)} (known: ${SCOPES.join(', ')})`);
    }
  }
  return SCOPES.filter((scope) => (value as unknown[]).includes(scope));
}

/** A list of model names, or null for every model. */
export function parseModels(value: unknown): string[] | null {
  if (value === null) return null;
  const message = `models must be a list of 1 to ${MAX_MODELS} model names, or null for every model`;
  if (!Array.isArray(value) || value.length === 0 || value.length > MAX_MODELS) throw new InvalidInputError(message);
  for (const model of value) {
    if (typeof model !== 'string' || model.trim() === '' || model.length > 200) throw new InvalidInputError(`${message}; ${JSON.stringify(model)} is not one`);
  }
  return [...new Set(value as string[])];
}

/**
 * `limits` (wire names) applied over `current`: a number sets a limit (0: none), null removes it
 * (the configured default applies again), an absent name keeps it.
 */
export function parseLimits(value: unknown, current: KeyLimits = {}): KeyLimits {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new InvalidInputError(`limits must be an object of: ${LIMIT_NAMES.join(', ')}`);
  }
  const limits: KeyLimits = { ...current };
  for (const [name, limit] of Object.entries(value as Record<string, unknown>)) {
    if (!(name in LIMIT_FIELDS)) throw new InvalidInputError(`limits.${name} is not a limit (known: ${LIMIT_NAMES.join(', ')})`);
    const field = LIMIT_FIELDS[name as keyof typeof LIMIT_FIELDS];
    if (limit === null) {
      delete limits[field];
    } else if (typeof limit === 'number' && Number.isInteger(limit) && limit >= 0 && limit <= MAX_LIMIT) {
      limits[field] = limit;
    } else {
      throw new InvalidInputError(`limits.${name} must be a whole number from 0 (no limit) to ${MAX_LIMIT}, or null (the default)`);
    }
  }
  return limits;
}

/** An ISO 8601 date or date-time in the future, or null for never. */
export function parseExpiry(value: unknown, now: Date): Date | null {
  if (value === null) return null;
  const at = typeof value === 'string' ? parseIsoUtc(value) : undefined;
  if (at === undefined || Number.isNaN(at.getTime())) {
    throw new InvalidInputError('expires_at must be an ISO 8601 date or date-time (UTC unless an offset is given), or null for never');
  }
  if (at.getTime() <= now.getTime()) throw new InvalidInputError(`expires_at ${at.toISOString()} is not in the future`);
  return at;
}
