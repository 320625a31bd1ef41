import type { ApiKeyRecord } from './api-key-record';

/**
 * The managed keys' table. Keys are found by the hex SHA-256 digest of their secret
 * (`keyDigest`); the secret itself is never handed to the repository.
 */
export abstract class ApiKeyRepository {
  /** Stores a new key; a name already taken is refused with a `ConflictError`. */
  abstract insert(key: ApiKeyRecord, secretDigest: string): Promise<void>;
  abstract findByDigest(secretDigest: string): Promise<ApiKeyRecord | null>;
  /** The key with this id, else the key with this name. */
  abstract findByIdOrName(ref: string): Promise<ApiKeyRecord | null>;
  /** Oldest first; revoked keys only when asked for. */
  abstract list(options: { includeRevoked: boolean }): Promise<ApiKeyRecord[]>;
  /** Writes name, scopes, models, limits, expiry, revocation and updated_at; a taken name → `ConflictError`. */
  abstract update(key: ApiKeyRecord): Promise<void>;
  abstract replaceSecret(id: string, secretDigest: string, prefix: string, at: Date): Promise<void>;
  abstract touch(id: string, at: Date): Promise<void>;
}
