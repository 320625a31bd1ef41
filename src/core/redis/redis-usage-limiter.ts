import { randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { BudgetUnavailableError } from '../../common/errors/limit-errors';
import { KeyUsageSource } from '../limits/key-usage.source';
import { Admission, EffectiveLimits, KEY_LIMITS, Usage, UsageDemand, UsageLease, UsageLimiter, UsageRefusal, utcDay, utcMonth } from '../limits/usage-limiter';
import { RedisClient, RedisScript, RedisUnavailableError } from './redis.client';

/** A period's totals outlive it by a day (a late settle still finds them). */
const PERIOD_GRACE_MS = 86_400_000;

/**
 * The field of the minute-tokens hash that holds the sum of its calls' tokens. Kept up to date by
 * every change, so an admission does not read the minute's calls: summing them made Redis do work
 * in proportion to the request rate on every request (bench:scale: ~4 ms of CPU per request at
 * ~300 requests/s). A hash without it (written before it existed) gets it summed once.
 */
const MINUTE_SUM = '#sum';

/**
 * A period whose totals are being read from the database: the hash exists (so every call that
 * ends meanwhile is charged to it by SETTLE) but is not admitted on until the read is added.
 */
const SEEDING = '#seeding';

/**
 * KEYS: leases (zset id → expiry), reserved (hash id → tokens), minute (zset id → at),
 * minute tokens (hash id → tokens, and MINUTE_SUM), day totals, month totals (hashes tokens, ms).
 * The same decisions, in the same order, as `InMemoryUsageLimiter.refusalFor`; {-1} when a
 * period's totals are not seeded yet (or are being seeded). A lease not ended by its expiry
 * (its instance died) frees its slot and reservation. The calls of the minute are read one by
 * one only to say when a refused one could pass.
 */
const ADMIT = new RedisScript(`
local now = tonumber(ARGV[1])
local tokens = tonumber(ARGV[3])
local conc, tpm, tpd, tpmo, msd = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
local dayEnd, monthEnd, leaseTtl = tonumber(ARGV[9]), tonumber(ARGV[10]), tonumber(ARGV[11])
for i = 5, 6 do if redis.call('EXISTS', KEYS[i]) == 0 or redis.call('HEXISTS', KEYS[i], '${SEEDING}') == 1 then return {-1} end end
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)) do redis.call('HDEL', KEYS[2], id) end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local summed = redis.call('HEXISTS', KEYS[4], '${MINUTE_SUM}') == 1
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now - 60000)) do
  if summed then redis.call('HINCRBYFLOAT', KEYS[4], '${MINUTE_SUM}', -tonumber(redis.call('HGET', KEYS[4], id) or '0')) end
  redis.call('HDEL', KEYS[4], id)
end
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - 60000)
if not summed and redis.call('EXISTS', KEYS[4]) == 1 then
  local sum = 0
  for _, id in ipairs(redis.call('ZRANGE', KEYS[3], 0, -1)) do sum = sum + tonumber(redis.call('HGET', KEYS[4], id) or '0') end
  redis.call('HSET', KEYS[4], '${MINUTE_SUM}', sum)
end
local reserved = 0
for _, v in ipairs(redis.call('HVALS', KEYS[2])) do reserved = reserved + tonumber(v) end
local dayTokens = tonumber(redis.call('HGET', KEYS[5], 'tokens') or '0')
local dayMs = tonumber(redis.call('HGET', KEYS[5], 'ms') or '0')
local monthTokens = tonumber(redis.call('HGET', KEYS[6], 'tokens') or '0')
if tpd > 0 and dayTokens + reserved >= tpd then return {1, tpd, dayTokens + reserved, dayEnd - now, dayEnd} end
if tpmo > 0 and monthTokens + reserved >= tpmo then return {2, tpmo, monthTokens + reserved, monthEnd - now, monthEnd} end
local seconds = math.floor(dayMs / 1000)
if msd > 0 and seconds >= msd then return {3, msd, seconds, dayEnd - now, dayEnd} end
if tpm > 0 then
  local used = tonumber(redis.call('HGET', KEYS[4], '${MINUTE_SUM}') or '0')
  if used + tokens > tpm and redis.call('ZCARD', KEYS[3]) > 0 then
    local ids = redis.call('ZRANGE', KEYS[3], 0, -1, 'WITHSCORES')
    local left, freedAt = used, now
    for i = 1, #ids, 2 do
      left = left - tonumber(redis.call('HGET', KEYS[4], ids[i]) or '0')
      freedAt = tonumber(ids[i + 1]) + 60000
      if left + tokens <= tpm then break end
    end
    return {4, tpm, used, freedAt - now, 0}
  end
end
local inFlight = redis.call('ZCARD', KEYS[1])
if conc > 0 and inFlight >= conc then return {5, conc, inFlight, 1000, 0} end
if ARGV[12] == '1' then
  redis.call('ZADD', KEYS[1], now + leaseTtl, ARGV[2])
  redis.call('HSET', KEYS[2], ARGV[2], tokens)
  redis.call('ZADD', KEYS[3], now, ARGV[2])
  redis.call('HSET', KEYS[4], ARGV[2], tokens)
  redis.call('HINCRBYFLOAT', KEYS[4], '${MINUTE_SUM}', tokens)
  for i = 1, 4 do redis.call('PEXPIRE', KEYS[i], leaseTtl + 60000) end
end
return {0}
`);

/** Ends a lease: frees its slot and reservation, its minute entry becomes what it used, the periods are charged. */
const SETTLE = new RedisScript(`
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
local held = redis.call('HGET', KEYS[4], ARGV[1])
if held then
  redis.call('HSET', KEYS[4], ARGV[1], ARGV[2])
  if redis.call('HEXISTS', KEYS[4], '${MINUTE_SUM}') == 1 then redis.call('HINCRBYFLOAT', KEYS[4], '${MINUTE_SUM}', tonumber(ARGV[2]) - tonumber(held)) end
end
for i = 5, 6 do
  if redis.call('EXISTS', KEYS[i]) == 1 then
    redis.call('HINCRBY', KEYS[i], 'tokens', ARGV[2])
    redis.call('HINCRBY', KEYS[i], 'ms', ARGV[3])
  end
end
return 1
`);

/** How long a period may stay half seeded (its reader died): then it is read again. */
const SEEDING_TTL_MS = 60_000;

/**
 * Before the database is read: opens the periods Redis has no totals of yet (the first call of a
 * key, or Redis restarted), so that a call ending during the read is not lost (SETTLE adds to an
 * existing hash only).
 */
const SEED_BEGIN = new RedisScript(`
for i = 1, 2 do
  if redis.call('EXISTS', KEYS[i]) == 0 then
    redis.call('HSET', KEYS[i], 'tokens', 0, 'ms', 0, '${SEEDING}', 1)
    redis.call('PEXPIRE', KEYS[i], ${SEEDING_TTL_MS})
  end
end
return 1
`);

/**
 * After the read: adds the stored usage of the day and month to the periods still being seeded
 * (onto what the calls that ended meanwhile added). Every reader began after SEED_BEGIN, so the
 * first to finish seeds; the others find the period seeded and add nothing.
 */
const SEED = new RedisScript(`
for i = 1, 2 do
  local seeding = redis.call('HEXISTS', KEYS[i], '${SEEDING}') == 1
  if seeding or redis.call('EXISTS', KEYS[i]) == 0 then
    redis.call('HINCRBY', KEYS[i], 'tokens', ARGV[i * 2 - 1])
    redis.call('HINCRBY', KEYS[i], 'ms', ARGV[i * 2])
    redis.call('HDEL', KEYS[i], '${SEEDING}')
    redis.call('PEXPIRE', KEYS[i], ARGV[4 + i])
  end
end
return 1
`);

class SharedLease implements UsageLease {
  /** Ended already: ending it again frees and charges nothing. */
  done = false;
  constructor(
    readonly keyId: string,
    readonly reserved: number,
    readonly id: string,
    /** Admitted by this instance's limiter while Redis was unreachable. */
    readonly local?: UsageLease,
  ) {}
}

const withoutBudgets = (limits: EffectiveLimits): EffectiveLimits => ({ ...limits, tokensPerDay: 0, tokensPerMonth: 0, modelSecondsPerDay: 0 });
const hasBudget = (limits: EffectiveLimits): boolean => limits.tokensPerDay > 0 || limits.tokensPerMonth > 0 || limits.modelSecondsPerDay > 0;

/**
 * The limiter shared by every instance: a key's slots, reservations, minute and budgets live in
 * Redis and each decision is one Lua script, atomic across instances. Every key of one API key
 * carries its id as a hash tag (`{id}`), so a script's keys share a Redis Cluster slot.
 * While Redis cannot answer, this instance's own limiter decides the rate limits (tokens per
 * minute, concurrent streams) and budgets are not enforced (`open`) or refuse (`closed`).
 */
export class RedisUsageLimiter extends UsageLimiter {
  private readonly logger = new Logger('Limits');
  private readonly seeding = new Map<string, Promise<void>>();

  constructor(
    private readonly redis: RedisClient,
    private readonly local: UsageLimiter,
    private readonly source: KeyUsageSource,
    private readonly budgetsWhenDown: 'open' | 'closed',
    /** How long a slot is held at most (an instance that died never frees its own). */
    private readonly leaseTtlMs: number,
    private readonly now: () => number = Date.now,
  ) {
    super();
  }

  async admit(demand: UsageDemand): Promise<Admission> {
    const id = randomUUID();
    try {
      const refusal = await this.decide(demand, id, true);
      return refusal ? { refusal } : { lease: new SharedLease(demand.keyId, demand.tokens, id) };
    } catch (error) {
      const admission = await this.local.admit(this.fallback(error, demand));
      return 'refusal' in admission ? admission : { lease: new SharedLease(demand.keyId, demand.tokens, id, admission.lease) };
    }
  }

  async check(demand: UsageDemand): Promise<UsageRefusal | undefined> {
    try {
      return await this.decide(demand, '', false);
    } catch (error) {
      return this.local.check(this.fallback(error, demand));
    }
  }

  settle(lease: UsageLease, used: Usage): Promise<void> {
    return this.end(lease as SharedLease, used.tokens, used.modelMs);
  }

  release(lease: UsageLease): Promise<void> {
    return this.end(lease as SharedLease, 0, 0);
  }

  private async end(lease: SharedLease, tokens: number, modelMs: number): Promise<void> {
    if (lease.done) return;
    lease.done = true;
    if (lease.local) return tokens === 0 && modelMs === 0 ? this.local.release(lease.local) : this.local.settle(lease.local, { tokens, modelMs });
    try {
      await this.redis.eval('settle', SETTLE, this.keys(lease.keyId), [lease.id, Math.round(tokens), Math.round(modelMs)]);
    } catch (error) {
      if (!(error instanceof RedisUnavailableError)) throw error;
      // The stored exchange still counts: Redis seeds from the database when it lost a period.
      this.redis.fallbacks.with('settle').inc();
    }
  }

  /** Without Redis: the demand this instance's limiter decides, or the refusal of a closed budget. */
  private fallback(error: unknown, demand: UsageDemand): UsageDemand {
    if (!(error instanceof RedisUnavailableError)) throw error;
    this.redis.fallbacks.with('rate_limit').inc();
    if (!hasBudget(demand.limits)) return demand;
    if (this.budgetsWhenDown === 'closed') {
      this.redis.fallbacks.with('budget_closed').inc();
      throw new BudgetUnavailableError();
    }
    this.redis.fallbacks.with('budget_open').inc();
    return { ...demand, limits: withoutBudgets(demand.limits) };
  }

  private async decide(demand: UsageDemand, id: string, take: boolean): Promise<UsageRefusal | undefined> {
    for (let attempt = 0; ; attempt += 1) {
      const now = this.now();
      const { limits } = demand;
      const reply = (await this.redis.eval('admit', ADMIT, this.keys(demand.keyId, now), [
        now, id, demand.tokens,
        limits.concurrentStreams, limits.tokensPerMinute, limits.tokensPerDay, limits.tokensPerMonth, limits.modelSecondsPerDay,
        utcDay(now).end, utcMonth(now).end, this.leaseTtlMs, take ? '1' : '0',
      ])) as number[];
      const [code, value, used, retryAfterMs, resetAt] = reply.map(Number) as [number, number, number, number, number];
      if (code === 0) return undefined;
      if (code > 0) return { limit: REFUSALS[code - 1]!, value, used, retryAfterMs, ...(resetAt > 0 ? { resetAt: new Date(resetAt) } : {}) };
      if (attempt > 0) throw new RedisUnavailableError("Redis lost a key's budget totals twice in a row");
      await this.seed(demand.keyId, now);
    }
  }

  /** The day's and month's stored usage, for whichever Redis has not; one read per key at a time. */
  private seed(keyId: string, now: number): Promise<void> {
    const running = this.seeding.get(keyId);
    if (running) return running;
    const day = utcDay(now);
    const month = utcMonth(now);
    const periods = this.keys(keyId, now).slice(4);
    const seeded = this.redis
      .eval('seed', SEED_BEGIN, periods, [])
      .then(() => this.source.spent(keyId, new Date(day.start), new Date(month.start)))
      .then(async (spent) => {
        await this.redis.eval('seed', SEED, periods, [
          Math.round(spent.day.tokens), Math.round(spent.day.modelMs), Math.round(spent.month.tokens), Math.round(spent.month.modelMs),
          day.end - now + PERIOD_GRACE_MS, month.end - now + PERIOD_GRACE_MS,
        ]);
        this.logger.debug(`budgets of ${keyId} seeded in Redis from the stored exchanges`);
      })
      .finally(() => this.seeding.delete(keyId));
    this.seeding.set(keyId, seeded);
    return seeded;
  }

  private keys(keyId: string, now = this.now()): string[] {
    const tag = `{${keyId}}`;
    return [
      this.redis.key(tag, 'leases'),
      this.redis.key(tag, 'reserved'),
      this.redis.key(tag, 'minute'),
      this.redis.key(tag, 'minute-tokens'),
      this.redis.key(tag, 'day', String(utcDay(now).start)),
      this.redis.key(tag, 'month', String(utcMonth(now).start)),
    ];
  }
}

/** The script's refusal codes 1…5, by limit. */
const REFUSALS = ['tokens_per_day', 'tokens_per_month', 'model_seconds_per_day', 'tokens_per_minute', 'concurrent_streams'] as const satisfies readonly (typeof KEY_LIMITS)[number][];
