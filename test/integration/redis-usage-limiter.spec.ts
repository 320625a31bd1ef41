import { createClient } from 'redis';
import { InMemoryUsageLimiter } from '../../src/core/limits/in-memory-usage-limiter';
import { RedisClient } from '../../src/core/redis/redis.client';
import { RedisUsageLimiter } from '../../src/core/redis/redis-usage-limiter';
import { eventually } from '../support/eventually';
import { describeWithRedis, RedisServer } from '../support/redis-server';
import type { SpentSince } from '../../src/core/limits/key-usage.source';
import { FakeUsageSource, usageLimiterContract } from '../support/usage-limiter-contract';

describeWithRedis(RedisUsageLimiter.name, () => {
  let server: RedisServer;
  const clients: RedisClient[] = [];
  beforeAll(async () => {
    server = await RedisServer.start();
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.onApplicationShutdown()));
  });
  afterAll(async () => {
    await server.stop();
  });

  // The same cases as the in-memory limiter's, each on a key space of its own.
  usageLimiterContract(async (source, clock) => {
    const redis = new RedisClient({ urls: [server.url], cluster: false, timeoutMs: 1_000, prefix: `contract-${clients.length}-${Date.now()}:` }, 'test');
    clients.push(redis);
    await eventually(async () => redis.up, (up) => up, 5_000);
    return new RedisUsageLimiter(redis, new InMemoryUsageLimiter(source, clock), source, 'open', 600_000, clock);
  });

  // bench:scale measured ~4 ms of redis-server CPU per request at ~300 requests/s: the admission
  // summed every call of the last minute, so Redis did O(rate) work per request.
  it("keeps a running sum of the minute's tokens: an admission reads no call of the minute", async () => {
    const redis = new RedisClient({ urls: [server.url], cluster: false, timeoutMs: 1_000, prefix: `sum-${Date.now()}:` }, 'test');
    clients.push(redis);
    await eventually(async () => redis.up, (up) => up, 5_000);
    let now = Date.UTC(2026, 11, 6, 12, 0, 0);
    const source = new FakeUsageSource();
    const limiter = new RedisUsageLimiter(redis, new InMemoryUsageLimiter(source, () => now), source, 'open', 600_000, () => now);
    const limits = { concurrentStreams: 0, tokensPerMinute: 100_000, tokensPerDay: 0, tokensPerMonth: 0, modelSecondsPerDay: 0 };
    const admit = async (tokens: number) => {
      const admission = await limiter.admit({ keyId: 'busy', limits, tokens });
      if ('refusal' in admission) throw new Error(`refused: ${admission.refusal.limit}`);
      return admission.lease;
    };
    // 500 calls in the minute (50 tokens estimated, 20 used each), one every 100 ms.
    for (let i = 0; i < 500; i += 1) {
      now += 100;
      await limiter.settle(await admit(50), { tokens: 20, modelMs: 1 });
    }
    const stats = createClient({ url: server.url });
    await stats.connect();
    try {
      await stats.configResetStat();
      now += 100;
      const lease = await admit(50);
      const hgets = Number(/cmdstat_hget:calls=(\d+)/.exec(await stats.info('commandstats'))?.[1] ?? 0);
      expect(hgets).toBeLessThan(10);
      // The sum is exact: the minute's 500 settled calls and the held lease's estimate.
      const full = await limiter.admit({ keyId: 'busy', limits: { ...limits, tokensPerMinute: 10_000 }, tokens: 1 });
      expect(full).toMatchObject({ refusal: { limit: 'tokens_per_minute', used: 500 * 20 + 50 } });
      await limiter.release(lease);
    } finally {
      await stats.quit();
    }
  });
  // The seed reads the database, then writes the totals: a call that ended between the two was
  // charged to no total (SETTLE found no period) and missing from the read (stored after it).
  it('counts a call that ends while its period is being seeded from the database', async () => {
    const prefix = `seeding-${Date.now()}:`;
    const redis = new RedisClient({ urls: [server.url], cluster: false, timeoutMs: 1_000, prefix }, 'test');
    clients.push(redis);
    await eventually(async () => redis.up, (up) => up, 5_000);
    const now = Date.UTC(2026, 11, 6, 12, 0, 0);
    /** While set, a database read waits for it (and says it began). */
    let held: { began: () => void; gate: Promise<void> } | undefined;
    // The database has nothing of the key: the call below ends after the read began, and its exchange is stored after it.
    const source = new (class extends FakeUsageSource {
      override async spent(keyId: string, dayStart: Date, monthStart: Date): Promise<{ day: SpentSince; month: SpentSince }> {
        const spent = await super.spent(keyId, dayStart, monthStart);
        if (held) {
          held.began();
          await held.gate;
        }
        return spent;
      }
    })();
    const limiter = new RedisUsageLimiter(redis, new InMemoryUsageLimiter(source, () => now), source, 'open', 600_000, () => now);
    const limits = { concurrentStreams: 0, tokensPerMinute: 0, tokensPerDay: 1_000, tokensPerMonth: 0, modelSecondsPerDay: 0 };
    const first = await limiter.admit({ keyId: 'k', limits, tokens: 10 });
    if ('refusal' in first) throw new Error('refused');
    // Redis loses the key's totals (a restart, an eviction) while the call runs.
    const raw = createClient({ url: server.url });
    await raw.connect();
    try {
      expect(await raw.del([`${prefix}{k}:day:${Date.UTC(2026, 11, 6)}`, `${prefix}{k}:month:${Date.UTC(2026, 11, 1)}`])).toBe(2);
    } finally {
      await raw.quit();
    }
    // The next call seeds again; the running call ends while the database is being read.
    let read!: () => void;
    const began = new Promise<void>((resolve) => (held = { began: resolve, gate: new Promise<void>((open) => (read = open)) }));
    const second = limiter.admit({ keyId: 'k', limits, tokens: 10 });
    await began;
    await limiter.settle(first.lease, { tokens: 900, modelMs: 5 });
    read();
    const admitted = await second;
    if ('refusal' in admitted) throw new Error('refused');
    await limiter.release(admitted.lease);
    expect(await limiter.check({ keyId: 'k', limits, tokens: 10 })).toBeUndefined();
    expect(await limiter.check({ keyId: 'k', limits: { ...limits, tokensPerDay: 900 }, tokens: 10 })).toMatchObject({ limit: 'tokens_per_day', used: 900 });
  });
});
