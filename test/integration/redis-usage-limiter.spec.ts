import { InMemoryUsageLimiter } from '../../src/core/limits/in-memory-usage-limiter';
import { RedisClient } from '../../src/core/redis/redis.client';
import { RedisUsageLimiter } from '../../src/core/redis/redis-usage-limiter';
import { eventually } from '../support/eventually';
import { describeWithRedis, RedisServer } from '../support/redis-server';
import { usageLimiterContract } from '../support/usage-limiter-contract';

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
    const redis = new RedisClient({ url: server.url, timeoutMs: 1_000, prefix: `contract-${clients.length}-${Date.now()}:` }, 'test');
    clients.push(redis);
    await eventually(async () => redis.up, (up) => up, 5_000);
    return new RedisUsageLimiter(redis, new InMemoryUsageLimiter(source, clock), source, 'open', 600_000, clock);
  });
});
