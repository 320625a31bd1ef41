import { randomUUID } from 'node:crypto';
import { SharedSlots } from '../llm/routing/shared-slots';
import { RedisClient, RedisScript, RedisUnavailableError } from './redis.client';

/**
 * How long a place is held without being renewed: an instance that dies (kill -9) never gives
 * its places back, so they free themselves this long after its last renewal.
 */
const LEASE_TTL_MS = 30_000;
/** A running request renews its place this often (well within the lease). */
const RENEW_EVERY_MS = 10_000;

/** KEYS: the target's leases (zset id → expiry). ARGV: now, id, max, ttl. 1 when the place is taken, 0 when all are held. */
const CLAIM = new RedisScript(`
local now = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[4]), ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1
`);

/** Pushes a held place's expiry on (only if it is still held). */
const RENEW = new RedisScript(`
if redis.call('ZADD', KEYS[1], 'XX', 'CH', tonumber(ARGV[1]) + tonumber(ARGV[3]), ARGV[2]) == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
return 1
`);

/**
 * The requests in flight on each target, counted in Redis by every instance: one sorted set of
 * leases per target (its name as the hash tag, for Redis Cluster), taken by one atomic script
 * below the target's max concurrency, renewed while the request runs, removed when it ends.
 * While Redis cannot answer, a place is granted and this instance's own count decides
 * (`vega_redis_fallbacks_total{what="routing"}`).
 */
export class RedisTargetSlots extends SharedSlots {
  constructor(
    private readonly redis: RedisClient,
    private readonly now: () => number = Date.now,
  ) {
    super();
  }

  async claim(name: string, max: number): Promise<(() => void) | null> {
    const key = this.redis.key('slots', `{${name}}`);
    const id = randomUUID();
    try {
      const taken = await this.redis.eval('slot_claim', CLAIM, [key], [this.now(), id, max, LEASE_TTL_MS]);
      if (Number(taken) !== 1) return null;
    } catch (error) {
      if (!(error instanceof RedisUnavailableError)) throw error;
      this.redis.fallbacks.with('routing').inc();
      return () => undefined;
    }
    const renewal = setInterval(() => {
      this.redis.eval('slot_renew', RENEW, [key], [this.now(), id, LEASE_TTL_MS]).catch(() => undefined);
    }, RENEW_EVERY_MS);
    renewal.unref();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      clearInterval(renewal);
      // Not given back while Redis is down: the lease expires by itself.
      this.redis.call('slot_release', (client) => client.zRem(key, id)).catch(() => undefined);
    };
  }
}
