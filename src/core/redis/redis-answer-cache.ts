import type { AnswerStore, CachedAnswer } from '../llm/resilience/response-cache';
import { RedisClient } from './redis.client';

/** Entries removed per `UNLINK` when the cache is cleared. */
const CLEAR_BATCH = 500;

/**
 * The answer cache's second level: answers as JSON under `cache:<key>` with the cache's TTL,
 * shared by every instance. A look-up Redis cannot answer in time is a miss.
 */
export class RedisAnswerCache implements AnswerStore {
  constructor(private readonly redis: RedisClient) {}

  async get(key: string): Promise<CachedAnswer | undefined> {
    try {
      const text = await this.redis.call('cache_get', (client) => client.get(this.redis.key('cache', key)));
      return typeof text === 'string' ? (JSON.parse(text) as CachedAnswer) : undefined;
    } catch {
      this.redis.fallbacks.with('cache').inc();
      return undefined;
    }
  }

  set(key: string, answer: CachedAnswer, ttlMs: number): void {
    void this.redis
      .call('cache_set', (client) => client.set(this.redis.key('cache', key), JSON.stringify(answer), { expiration: { type: 'PX', value: ttlMs } }))
      .catch(() => this.redis.fallbacks.with('cache').inc());
  }

  /** Removes every shared answer (on a single node; on a cluster, those of the node this connection reaches). */
  clear(): void {
    void this.redis
      .call('cache_clear', async (client) => {
        let batch: string[] = [];
        for await (const keys of client.scanIterator({ MATCH: this.redis.key('cache', '*'), COUNT: CLEAR_BATCH })) {
          batch.push(...keys);
          if (batch.length >= CLEAR_BATCH) {
            await client.unlink(batch);
            batch = [];
          }
        }
        if (batch.length > 0) await client.unlink(batch);
      })
      .catch(() => this.redis.fallbacks.with('cache').inc());
  }
}
