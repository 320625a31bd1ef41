import { KeyUsageSource, SpentSince } from '../../src/core/limits/key-usage.source';
import { Admission, EffectiveLimits, UsageLease, UsageLimiter } from '../../src/core/limits/usage-limiter';

/** Stored usage by key, as the database would sum it; counts the reads and can fail the next ones. */
export class FakeUsageSource extends KeyUsageSource {
  reads: Array<{ keyId: string; dayStart: string; monthStart: string }> = [];
  failures = 0;
  constructor(private readonly stored: Record<string, { day: SpentSince; month: SpentSince }> = {}) {
    super();
  }
  async spent(keyId: string, dayStart: Date, monthStart: Date): Promise<{ day: SpentSince; month: SpentSince }> {
    this.reads.push({ keyId, dayStart: dayStart.toISOString(), monthStart: monthStart.toISOString() });
    await new Promise((resolve) => setImmediate(resolve));
    if (this.failures > 0) {
      this.failures -= 1;
      throw new Error('database is busy');
    }
    return this.stored[keyId] ?? { day: { tokens: 0, modelMs: 0 }, month: { tokens: 0, modelMs: 0 } };
  }
}

const NONE: EffectiveLimits = { concurrentStreams: 0, tokensPerMinute: 0, tokensPerDay: 0, tokensPerMonth: 0, modelSecondsPerDay: 0 };
const limits = (own: Partial<EffectiveLimits>): EffectiveLimits => ({ ...NONE, ...own });

function leaseOf(admission: Admission): UsageLease {
  if ('refusal' in admission) throw new Error(`refused: ${admission.refusal.limit}`);
  return admission.lease;
}

/**
 * What every `UsageLimiter` must do, whatever keeps its state (this process, Redis): the same
 * admissions, refusals and charges. `make` builds a fresh limiter on the source and clock given.
 */
export function usageLimiterContract(make: (source: KeyUsageSource, clock: () => number) => Promise<UsageLimiter> | UsageLimiter): void {
  let now: number;
  const clock = () => now;
  beforeEach(() => {
    now = Date.UTC(2026, 11, 6, 12, 0, 0);
  });

  describe('concurrent streams', () => {
    it('holds a slot until the call settles or is released', async () => {
      const limiter = await make(new FakeUsageSource(), clock);
      const demand = { keyId: 'k', limits: limits({ concurrentStreams: 2 }), tokens: 10 };
      const first = leaseOf(await limiter.admit(demand));
      const second = leaseOf(await limiter.admit(demand));
      const refused = await limiter.admit(demand);
      expect(refused).toEqual({ refusal: { limit: 'concurrent_streams', value: 2, used: 2, retryAfterMs: 1000 } });
      await limiter.settle(first, { tokens: 5, modelMs: 1 });
      const third = leaseOf(await limiter.admit(demand));
      await limiter.release(second);
      // Ending a lease twice frees nothing more.
      await limiter.release(second);
      await limiter.settle(first, { tokens: 5, modelMs: 1 });
      leaseOf(await limiter.admit(demand));
      expect('refusal' in (await limiter.admit(demand))).toBe(true);
      expect(third.reserved).toBe(10);
    });

    it('keeps keys apart', async () => {
      const limiter = await make(new FakeUsageSource(), clock);
      leaseOf(await limiter.admit({ keyId: 'a', limits: limits({ concurrentStreams: 1 }), tokens: 1 }));
      leaseOf(await limiter.admit({ keyId: 'b', limits: limits({ concurrentStreams: 1 }), tokens: 1 }));
    });
  });

  describe('tokens per minute', () => {
    it('admits while the estimate fits, then says when the oldest calls leave the minute', async () => {
      const limiter = await make(new FakeUsageSource(), clock);
      const demand = (tokens: number) => ({ keyId: 'k', limits: limits({ tokensPerMinute: 1000 }), tokens });
      const first = leaseOf(await limiter.admit(demand(600)));
      now += 10_000;
      leaseOf(await limiter.admit(demand(300)));
      now += 5_000;
      const refused = await limiter.admit(demand(200));
      expect(refused).toEqual({ refusal: { limit: 'tokens_per_minute', value: 1000, used: 900, retryAfterMs: 45_000 } });
      // Settled with less than reserved: the difference is free again at once.
      await limiter.settle(first, { tokens: 400, modelMs: 10 });
      leaseOf(await limiter.admit(demand(200)));
      expect(await limiter.check(demand(200))).toMatchObject({ limit: 'tokens_per_minute', used: 900 });
      now += 45_001;
      expect(await limiter.check(demand(500))).toBeUndefined();
    });

    it('lets a call larger than the whole limit through an empty minute only', async () => {
      const limiter = await make(new FakeUsageSource(), clock);
      const demand = (tokens: number) => ({ keyId: 'k', limits: limits({ tokensPerMinute: 100 }), tokens });
      const big = leaseOf(await limiter.admit(demand(500)));
      await limiter.settle(big, { tokens: 50, modelMs: 1 });
      now += 20_000;
      expect(await limiter.check(demand(500))).toMatchObject({ limit: 'tokens_per_minute', retryAfterMs: 40_000 });
      now += 40_000;
      expect(await limiter.check(demand(500))).toBeUndefined();
    });
  });

  describe('budgets', () => {
    it('starts from the stored usage of the day and month, read once per key', async () => {
      const source = new FakeUsageSource({ k: { day: { tokens: 900, modelMs: 61_000 }, month: { tokens: 4_900, modelMs: 90_000 } } });
      const limiter = await make(source, clock);
      const day = { keyId: 'k', limits: limits({ tokensPerDay: 1000 }), tokens: 50 };
      await Promise.all([limiter.check(day), limiter.check(day), limiter.check(day)]);
      expect(source.reads).toEqual([{ keyId: 'k', dayStart: '2026-12-06T00:00:00.000Z', monthStart: '2026-12-01T00:00:00.000Z' }]);
      expect(await limiter.check({ ...day, limits: limits({ modelSecondsPerDay: 61 }) })).toEqual({
        limit: 'model_seconds_per_day',
        value: 61,
        used: 61,
        retryAfterMs: 12 * 3600_000,
        resetAt: new Date('2026-12-07T00:00:00.000Z'),
      });
      const lease = leaseOf(await limiter.admit(day));
      expect(await limiter.check({ ...day, limits: limits({ tokensPerMonth: 4_950 }) })).toMatchObject({ limit: 'tokens_per_month', used: 4_950 });
      await limiter.settle(lease, { tokens: 120, modelMs: 500 });
      expect(await limiter.check(day)).toEqual({
        limit: 'tokens_per_day',
        value: 1000,
        used: 1020,
        retryAfterMs: 12 * 3600_000,
        resetAt: new Date('2026-12-07T00:00:00.000Z'),
      });
    });

    it('overruns a budget by at most one call when calls race for its last tokens', async () => {
      const source = new FakeUsageSource({ k: { day: { tokens: 950, modelMs: 0 }, month: { tokens: 950, modelMs: 0 } } });
      const limiter = await make(source, clock);
      const demand = { keyId: 'k', limits: limits({ tokensPerDay: 1000 }), tokens: 40 };
      const admissions = await Promise.all(Array.from({ length: 20 }, () => limiter.admit(demand)));
      expect(admissions.filter((admission) => 'lease' in admission)).toHaveLength(2);
    });

    it('starts afresh at the next UTC day and month', async () => {
      const limiter = await make(new FakeUsageSource(), clock);
      now = Date.UTC(2026, 11, 31, 23, 59, 0);
      const demand = { keyId: 'k', limits: limits({ tokensPerDay: 100, tokensPerMonth: 150 }), tokens: 10 };
      await limiter.settle(leaseOf(await limiter.admit(demand)), { tokens: 100, modelMs: 0 });
      expect(await limiter.check(demand)).toMatchObject({ limit: 'tokens_per_day', retryAfterMs: 60_000 });
      now = Date.UTC(2027, 0, 1, 0, 0, 1);
      expect(await limiter.check(demand)).toBeUndefined();
      now = Date.UTC(2027, 0, 2, 0, 0, 1);
      await limiter.settle(leaseOf(await limiter.admit(demand)), { tokens: 80, modelMs: 0 });
      now = Date.UTC(2027, 0, 3, 0, 0, 1);
      await limiter.settle(leaseOf(await limiter.admit(demand)), { tokens: 80, modelMs: 0 });
      expect(await limiter.check(demand)).toMatchObject({ limit: 'tokens_per_month', used: 160, resetAt: new Date('2027-02-01T00:00:00.000Z') });
    });

    it('reads the stored usage again after a failed read instead of running without it', async () => {
      const source = new FakeUsageSource({ k: { day: { tokens: 100, modelMs: 0 }, month: { tokens: 100, modelMs: 0 } } });
      source.failures = 1;
      const limiter = await make(source, clock);
      const demand = { keyId: 'k', limits: limits({ tokensPerDay: 100 }), tokens: 1 };
      await expect(limiter.admit(demand)).rejects.toThrow('database is busy');
      expect(await limiter.admit(demand)).toMatchObject({ refusal: { limit: 'tokens_per_day', used: 100 } });
      expect(source.reads).toHaveLength(2);
    });
  });
}
