import { randomUUID } from 'node:crypto';
import type { ThrottlerStorage } from '@nestjs/throttler';
import type { ThrottleDecision, SlidingWindowThrottlerStorage } from '../../common/throttling/sliding-window.storage';
import { RedisClient, RedisScript, RedisUnavailableError } from './redis.client';

/**
 * A sliding log of admitted requests (zset member → time): refused requests are not counted,
 * and the wait is when enough of the counted ones leave the window, as the local storage does.
 * With ARGV[5] = '0' it only says whether one more would be admitted (a peek: nothing counted).
 * Replies {hits, ms until the oldest leaves, blocked, ms until admitted}.
 */
const HIT = new RedisScript(`
local now, ttl, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - ttl)
local count = redis.call('ZCARD', KEYS[1])
if count + 1 > limit then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  local freeing = redis.call('ZRANGE', KEYS[1], count - limit, count - limit, 'WITHSCORES')
  local first = tonumber(oldest[2] or now)
  return {count + 1, first + ttl - now, 1, tonumber(freeing[2] or now) + ttl - now}
end
if ARGV[5] == '0' then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return {count + 1, tonumber(oldest[2] or now) + ttl - now, 0, 0}
end
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('PEXPIRE', KEYS[1], ttl)
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {count + 1, tonumber(oldest[2]) + ttl - now, 0, 0}
`);

const seconds = (ms: number) => Math.max(0, Math.ceil(ms / 1000));

/**
 * Requests per minute per key (and wrong keys per address) counted in Redis, so N instances
 * admit N per minute in total, not N each. While Redis cannot answer, this instance's own counters decide (and say so: the
 * `vega_redis_fallbacks_total{what="rate_limit"}` metric and a log line when Redis goes away).
 */
export class RedisThrottlerStorage implements ThrottlerStorage {
  constructor(
    private readonly redis: RedisClient,
    private readonly local: SlidingWindowThrottlerStorage,
    private readonly now: () => number = Date.now,
  ) {}

  increment(key: string, ttl: number, limit: number): Promise<ThrottleDecision> {
    return this.decide(key, ttl, limit, true);
  }

  /** Whether one more hit would be admitted, without counting it (the local storage's `peek`, shared). */
  peek(key: string, ttl: number, limit: number): Promise<ThrottleDecision> {
    return this.decide(key, ttl, limit, false);
  }

  private async decide(key: string, ttl: number, limit: number, count: boolean): Promise<ThrottleDecision> {
    try {
      const reply = (await this.redis.eval('rate_limit', HIT, [this.redis.key(`{${key}}`, 'requests')], [this.now(), ttl, limit, randomUUID(), count ? '1' : '0'])) as number[];
      const [totalHits, expireMs, blocked, blockMs] = reply.map(Number) as [number, number, number, number];
      return { totalHits, timeToExpire: seconds(expireMs), isBlocked: blocked === 1, timeToBlockExpire: blocked === 1 ? Math.max(1, seconds(blockMs)) : 0 };
    } catch (error) {
      if (!(error instanceof RedisUnavailableError)) throw error;
      this.redis.fallbacks.with('rate_limit').inc();
      return count ? this.local.increment(key, ttl, limit) : this.local.peek(key, ttl, limit);
    }
  }
}
