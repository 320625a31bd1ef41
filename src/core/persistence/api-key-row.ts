import { limitsFromWire, limitsToWire } from '../../common/auth/key-limits';
import { SCOPES, type Scope } from '../../common/auth/principal';
import type { ApiKeyRecord } from './api-key-record';

/**
 * A row of `api_keys` as both engines hold it: scopes, models and limits as JSON text; times as
 * ISO 8601 text (SQLite) or `timestamptz` (PostgreSQL, read as a `Date`), both written from ISO text.
 */
export interface ApiKeyRow {
  id: string;
  name: string;
  prefix: string;
  scopes: string;
  models: string | null;
  limits: string;
  expires_at: string | Date | null;
  created_at: string | Date;
  updated_at: string | Date;
  last_used_at: string | Date | null;
  revoked_at: string | Date | null;
}

export const API_KEY_COLUMNS = 'id, name, prefix, scopes, models, limits, expires_at, created_at, updated_at, last_used_at, revoked_at';

/** The values of `API_KEY_COLUMNS`, in order. */
export function toRow(key: ApiKeyRecord): unknown[] {
  return [
    key.id,
    key.name,
    key.prefix,
    JSON.stringify(key.scopes),
    key.models === null ? null : JSON.stringify(key.models),
    JSON.stringify(limitsToWire(key.limits)),
    key.expiresAt?.toISOString() ?? null,
    key.createdAt.toISOString(),
    key.updatedAt.toISOString(),
    key.lastUsedAt?.toISOString() ?? null,
    key.revokedAt?.toISOString() ?? null,
  ];
}

export function fromRow(row: ApiKeyRow): ApiKeyRecord {
  const date = (value: string | Date | null) => (value === null ? null : new Date(value));
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    scopes: jsonArray(row.scopes).filter((scope): scope is Scope => (SCOPES as readonly unknown[]).includes(scope)),
    models: row.models === null ? null : jsonArray(row.models).filter((model): model is string => typeof model === 'string'),
    limits: limitsFromWire(jsonObject(row.limits)),
    expiresAt: date(row.expires_at),
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
    lastUsedAt: date(row.last_used_at),
    revokedAt: date(row.revoked_at),
  };
}

/** Written by this class only; an unreadable value grants nothing rather than failing the lookup. */
function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}

function jsonArray(text: string): unknown[] {
  const value = parseJson(text);
  return Array.isArray(value) ? value : [];
}

function jsonObject(text: string): Record<string, unknown> {
  const value = parseJson(text);
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}
