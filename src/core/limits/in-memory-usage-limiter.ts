import { KeyUsageSource } from './key-usage.source';
import {
  Admission,
  EffectiveLimits,
  Usage,
  UsageDemand,
  UsageLease,
  UsageLimiter,
  UsageRefusal,
  utcDay,
  utcMonth,
} from './usage-limiter';

const MINUTE_MS = 60_000;
/** A full concurrency limit frees up when a stream ends, which nobody can tell in advance. */
const CONCURRENCY_RETRY_MS = 1_000;

/** One call's tokens in the sliding minute: its reservation until it settles, then what it used. */
interface MinuteEntry {
  at: number;
  tokens: number;
}

/** A budget's running total for one period (a UTC day or month, by its start). */
interface PeriodTotal {
  start: number;
  tokens: number;
  modelMs: number;
}

interface KeyState {
  /** The stored exchanges of this day and month, read once when the process first meets the key. */
  seeded: Promise<void>;
  inFlight: number;
  /** Tokens reserved by admitted calls that have not settled yet. */
  reserved: number;
  minute: MinuteEntry[];
  day: PeriodTotal;
  month: PeriodTotal;
}

class Lease implements UsageLease {
  done = false;
  constructor(
    readonly keyId: string,
    readonly reserved: number,
    readonly entry: MinuteEntry,
  ) {}
}

/**
 * The limiter of one process. Everything about a key is decided synchronously once its seed is
 * read, so racing calls of the same key are admitted one after the other, each seeing the
 * reservations of those before it.
 */
export class InMemoryUsageLimiter extends UsageLimiter {
  private readonly keys = new Map<string, KeyState>();

  constructor(
    private readonly source: KeyUsageSource,
    private readonly now: () => number = Date.now,
  ) {
    super();
  }

  async admit(demand: UsageDemand): Promise<Admission> {
    const state = await this.stateOf(demand.keyId);
    const refusal = this.refusalFor(state, demand);
    if (refusal) return { refusal };
    const entry = { at: this.now(), tokens: demand.tokens };
    state.minute.push(entry);
    state.inFlight += 1;
    state.reserved += demand.tokens;
    return { lease: new Lease(demand.keyId, demand.tokens, entry) };
  }

  async check(demand: UsageDemand): Promise<UsageRefusal | undefined> {
    return this.refusalFor(await this.stateOf(demand.keyId), demand);
  }

  async settle(lease: UsageLease, used: Usage): Promise<void> {
    const state = this.end(lease);
    if (!state) return;
    (lease as Lease).entry.tokens = used.tokens;
    const day = this.current(state, 'day');
    const month = this.current(state, 'month');
    day.tokens += used.tokens;
    day.modelMs += used.modelMs;
    month.tokens += used.tokens;
    month.modelMs += used.modelMs;
  }

  async release(lease: UsageLease): Promise<void> {
    if (this.end(lease)) (lease as Lease).entry.tokens = 0;
  }

  /** Frees the lease's slot and reservation; undefined when it was already ended. */
  private end(lease: UsageLease): KeyState | undefined {
    const own = lease as Lease;
    const state = this.keys.get(own.keyId);
    if (own.done || !state) return undefined;
    own.done = true;
    state.inFlight -= 1;
    state.reserved -= own.reserved;
    return state;
  }

  /**
   * The first limit that refuses the demand, budgets first (they last longer). A budget admits
   * while anything of it is left (reservations in flight count as used), so racing calls overrun
   * it by at most one call's estimate; the minute admits a call only when its estimate fits,
   * except in an otherwise empty minute (an estimate larger than the whole limit would never fit).
   */
  private refusalFor(state: KeyState, { limits, tokens }: UsageDemand): UsageRefusal | undefined {
    const now = this.now();
    const day = this.current(state, 'day');
    const month = this.current(state, 'month');
    const budget = (limit: 'tokens_per_day' | 'tokens_per_month' | 'model_seconds_per_day', value: number, used: number, resetAt: number) =>
      value > 0 && used >= value ? { limit, value, used, retryAfterMs: resetAt - now, resetAt: new Date(resetAt) } : undefined;
    const refusal =
      budget('tokens_per_day', limits.tokensPerDay, day.tokens + state.reserved, utcDay(now).end) ??
      budget('tokens_per_month', limits.tokensPerMonth, month.tokens + state.reserved, utcMonth(now).end) ??
      budget('model_seconds_per_day', limits.modelSecondsPerDay, Math.floor(day.modelMs / 1000), utcDay(now).end) ??
      this.minuteRefusal(state, limits, tokens, now);
    if (refusal) return refusal;
    if (limits.concurrentStreams > 0 && state.inFlight >= limits.concurrentStreams) {
      return { limit: 'concurrent_streams', value: limits.concurrentStreams, used: state.inFlight, retryAfterMs: CONCURRENCY_RETRY_MS };
    }
    return undefined;
  }

  private minuteRefusal(state: KeyState, limits: EffectiveLimits, tokens: number, now: number): UsageRefusal | undefined {
    const entries = state.minute;
    while (entries.length > 0 && entries[0]!.at <= now - MINUTE_MS) entries.shift();
    if (limits.tokensPerMinute <= 0 || entries.length === 0) return undefined;
    let used = entries.reduce((sum, entry) => sum + entry.tokens, 0);
    if (used + tokens <= limits.tokensPerMinute) return undefined;
    // When enough of the oldest calls leave the window for this one to fit (or all of them, for one larger than the limit).
    let freedAt = now;
    for (const entry of entries) {
      used -= entry.tokens;
      freedAt = entry.at + MINUTE_MS;
      if (used + tokens <= limits.tokensPerMinute) break;
    }
    return { limit: 'tokens_per_minute', value: limits.tokensPerMinute, used: entries.reduce((sum, entry) => sum + entry.tokens, 0), retryAfterMs: freedAt - now };
  }

  /** The key's total for the period now running; a new period starts from nothing (this process saw everything since the seed). */
  private current(state: KeyState, period: 'day' | 'month'): PeriodTotal {
    const start = (period === 'day' ? utcDay : utcMonth)(this.now()).start;
    if (state[period].start !== start) state[period] = { start, tokens: 0, modelMs: 0 };
    return state[period];
  }

  private async stateOf(keyId: string): Promise<KeyState> {
    let state = this.keys.get(keyId);
    if (!state) {
      const now = this.now();
      const day = utcDay(now).start;
      const month = utcMonth(now).start;
      const created: KeyState = {
        seeded: Promise.resolve(),
        inFlight: 0,
        reserved: 0,
        minute: [],
        day: { start: day, tokens: 0, modelMs: 0 },
        month: { start: month, tokens: 0, modelMs: 0 },
      };
      created.seeded = this.source.spent(keyId, new Date(day), new Date(month)).then(
        (spent) => {
          created.day.tokens += spent.day.tokens;
          created.day.modelMs += spent.day.modelMs;
          created.month.tokens += spent.month.tokens;
          created.month.modelMs += spent.month.modelMs;
        },
        (error: unknown) => {
          // Read again by the next call rather than running without the stored usage.
          if (this.keys.get(keyId) === created) this.keys.delete(keyId);
          throw error;
        },
      );
      this.keys.set(keyId, created);
      state = created;
    }
    await state.seeded;
    return state;
  }
}
