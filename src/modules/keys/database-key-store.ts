import { BeforeApplicationShutdown, Injectable, Logger, Optional } from '@nestjs/common';
import { ApiKeyStore, keyDigest, type KeyLookup } from '../../common/auth/api-key-store';
import { keyStatus, principalOf, type ApiKeyRecord } from '../../core/persistence/api-key-record';
import { ApiKeyRepository } from '../../core/persistence/api-key.repository';
import { ChangeNotices } from '../../core/redis/change-notices';

/**
 * How long a key read from the table is trusted. A key revoked by another process (`vega keys
 * revoke`) is refused once this has passed: well within the promised second.
 */
export const KEY_CACHE_MS = 500;
/** `last_used_at` is written at most this often per key: not a write per request. */
export const LAST_USED_EVERY_MS = 60_000;
/** Cached keys at most (a flood of distinct valid keys cannot grow the map without bound). */
const MAX_CACHED = 10_000;

interface Cached {
  lookup: Promise<ApiKeyRecord | null>;
  at: number;
}

/**
 * The managed keys as an `ApiKeyStore`: looked up by the secret's digest, cached for
 * `KEY_CACHE_MS` (concurrent requests with one key share one read). A change made in this
 * process empties the cache at once (`forget`). A digest nobody issued is not cached: a key
 * created by the CLI works on its first request. With several instances (Redis), a change made
 * on one empties every instance's cache at once.
 */
@Injectable()
export class DatabaseKeyStore extends ApiKeyStore implements BeforeApplicationShutdown {
  private readonly logger = new Logger('ApiKeys');
  private readonly cache = new Map<string, Cached>();
  private readonly lastUsedWritten = new Map<string, number>();
  private readonly writes = new Set<Promise<void>>();

  constructor(
    private readonly keys: ApiKeyRepository,
    @Optional() private readonly notices?: ChangeNotices,
  ) {
    super();
    notices?.on('keys', () => this.cache.clear());
  }

  async identify(secret: string): Promise<KeyLookup | null> {
    const key = await this.read(keyDigest(secret).toString('hex'));
    if (key === null) return null;
    const now = new Date();
    const status = keyStatus(key, now);
    if (status === 'revoked') return { refused: 'revoked', keyId: key.id, at: key.revokedAt!.toISOString() };
    if (status === 'expired') return { refused: 'expired', keyId: key.id, at: key.expiresAt!.toISOString() };
    this.noteUse(key, now);
    return { principal: principalOf(key) };
  }

  /** Drops every cached key: the next request of each reads the table again. */
  forget(): void {
    this.cache.clear();
    this.notices?.announce('keys');
  }

  /** The `last_used_at` writes still running finish before the database closes. */
  async beforeApplicationShutdown(): Promise<void> {
    await Promise.all(this.writes);
  }

  private read(digest: string): Promise<ApiKeyRecord | null> {
    const now = Date.now();
    const cached = this.cache.get(digest);
    if (cached !== undefined && now - cached.at < KEY_CACHE_MS) return cached.lookup;
    if (this.cache.size >= MAX_CACHED) this.cache.clear();
    const lookup = this.keys.findByDigest(digest);
    const entry: Cached = { lookup, at: now };
    this.cache.set(digest, entry);
    const drop = () => {
      if (this.cache.get(digest) === entry) this.cache.delete(digest);
    };
    lookup.then((key) => key === null && drop(), drop);
    return lookup;
  }

  /** Off the request path: the write runs beside it, and a failure is only logged. */
  private noteUse(key: ApiKeyRecord, now: Date): void {
    const last = this.lastUsedWritten.get(key.id) ?? key.lastUsedAt?.getTime() ?? 0;
    if (now.getTime() - last < LAST_USED_EVERY_MS) return;
    this.lastUsedWritten.set(key.id, now.getTime());
    const write = this.keys
      .touch(key.id, now)
      .catch((error: unknown) => this.logger.warn(`last_used_at of ${key.id} not written: ${error instanceof Error ? error.message : String(error)}`))
      .finally(() => this.writes.delete(write));
    this.writes.add(write);
  }
}
