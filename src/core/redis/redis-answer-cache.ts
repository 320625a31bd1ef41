import type { AnswerStore, CachedAnswer } from '../llm/resilience/response-cache';
import { RedisClient } from './redis.client';

/** How long an instance trusts the generation it read: another instance's clear reaches it within this. */
const GENERATION_READ_EVERY_MS = 1_000;

type Client = Parameters<Parameters<RedisClient['call']>[1]>[0];

/**
 * The answer cache's second level: answers as JSON under `cache:<generation>:<key>` with the
 * cache's TTL, shared by every instance. A look-up Redis cannot answer in time is a miss.
 * Clearing is one `INCR` of the generation (`cache:generation`): the answers of the old one are
 * no longer looked up and leave by their TTL. No key is scanned, so a clear costs the same for a
 * million answers and reaches every node of a Redis Cluster (a `SCAN` reaches one).
 */
export class RedisAnswerCache implements AnswerStore {
  private generation?: { value: string; readAt: number };

  constructor(
    private readonly redis: RedisClient,
    private readonly now: () => number = Date.now,
  ) {}

  async get(key: string): Promise<CachedAnswer | undefined> {
    try {
      const text = await this.redis.call('cache_get', async (client) => client.get(await this.entry(client, key)));
      return typeof text === 'string' ? (JSON.parse(text) as CachedAnswer) : undefined;
    } catch {
      this.redis.fallbacks.with('cache').inc();
      return undefined;
    }
  }

  set(key: string, answer: CachedAnswer, ttlMs: number): void {
    void this.redis
      .call('cache_set', async (client) => client.set(await this.entry(client, key), JSON.stringify(answer), { expiration: { type: 'PX', value: ttlMs } }))
      .catch(() => this.redis.fallbacks.with('cache').inc());
  }

  /**
   * Every instance stops finding the shared answers: this one at once, the others when the cache
   * change notice sent after it reaches them, or within `GENERATION_READ_EVERY_MS` without it.
   */
  async clear(): Promise<void> {
    // Read again by the next look-up: sent after the INCR on the same connection, it sees the new one.
    this.generation = undefined;
    try {
      const generation = await this.redis.call('cache_clear', (client) => client.incr(this.redis.key('cache', 'generation')));
      this.generation = { value: String(generation), readAt: this.now() };
    } catch {
      this.redis.fallbacks.with('cache').inc();
    }
  }

  clearedElsewhere(): void {
    this.generation = undefined;
  }

  /** The key of `key`'s answer in the current generation (read again once it is a second old). */
  private async entry(client: Client, key: string): Promise<string> {
    const now = this.now();
    if (this.generation === undefined || now - this.generation.readAt >= GENERATION_READ_EVERY_MS) {
      this.generation = { value: (await client.get(this.redis.key('cache', 'generation'))) ?? '0', readAt: now };
    }
    return this.redis.key('cache', this.generation.value, key);
  }
}
