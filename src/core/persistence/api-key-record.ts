import type { KeyLimits, Principal, Scope } from '../../common/auth/principal';

/** A managed key as stored, without its secret (only the secret's digest is kept, by the repository). */
export interface ApiKeyRecord {
  id: string;
  name: string;
  /** The secret's first characters (`vk-…`), to recognise a key in a list; never enough to use it. */
  prefix: string;
  scopes: Scope[];
  /** The models the key may use; null: every model. */
  models: string[] | null;
  limits: KeyLimits;
  expiresAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

export type KeyStatus = 'active' | 'revoked' | 'expired';

/** Revoked wins over expired: a revocation is a decision, an expiry a date. */
export function keyStatus(key: ApiKeyRecord, now = new Date()): KeyStatus {
  if (key.revokedAt !== null) return 'revoked';
  if (key.expiresAt !== null && key.expiresAt.getTime() <= now.getTime()) return 'expired';
  return 'active';
}

/** Who the key is to guards, limits and storage. */
export function principalOf(key: ApiKeyRecord): Principal {
  return { keyId: key.id, name: key.name, kind: 'managed', scopes: new Set(key.scopes), models: key.models, limits: key.limits };
}
