import type { OnModuleDestroy } from '@nestjs/common';
import type { ThrottlerStorage } from '@nestjs/throttler';

/** Slots per window: the window slides in steps of ttl / SLOTS (one second for a minute). */
const SLOTS = 60;

interface Counter {
  slotMs: number;
  /** Hits per slot, in a ring indexed by absolute slot number modulo SLOTS. */
  slots: number[];
  /** Absolute number of the newest slot written (`floor(time / slotMs)`). */
  newest: number;
  total: number;
}

export interface ThrottleDecision {
  totalHits: number;
  /** Seconds until the oldest counted hit leaves the window. */
  timeToExpire: number;
  isBlocked: boolean;
  /** Seconds until a request would be admitted again (0 when admitted). */
  timeToBlockExpire: number;
}

/**
 * A sliding window counted in slots of ttl/60: O(1) per request and 60 numbers per key, where
 * the library's default storage keeps one timestamp per hit and filters them all on every
 * request (at thousands of requests per second that is most of the cost of a chat call).
 * Refused requests are not counted, so a client that waits is admitted again, and the wait
 * it is told (`Retry-After`) is when enough of its hits have left the window.
 * `blockDuration` is not used.
 */
export class SlidingWindowThrottlerStorage implements ThrottlerStorage, OnModuleDestroy {
  private readonly counters = new Map<string, Counter>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    /** The clock of the windows (a test's own), for callers that keep time beside them. */
    readonly now: () => number = Date.now,
    sweepIntervalMs = 60_000,
  ) {
    this.sweeper = setInterval(() => this.sweep(), sweepIntervalMs);
    this.sweeper.unref();
  }

  increment(key: string, ttl: number, limit: number): Promise<ThrottleDecision> {
    return Promise.resolve(this.hit(key, ttl, limit));
  }

  /** The synchronous core of `increment`. */
  hit(key: string, ttl: number, limit: number): ThrottleDecision {
    return this.decide(key, ttl, limit, true);
  }

  /**
   * Whether one more hit would be admitted, without counting it: for limits on an outcome
   * (failed authentication) that is known only after the request was let through.
   */
  peek(key: string, ttl: number, limit: number): ThrottleDecision {
    return this.decide(key, ttl, limit, false);
  }

  private decide(key: string, ttl: number, limit: number, count: boolean): ThrottleDecision {
    const now = this.now();
    const slotMs = Math.max(1, ttl / SLOTS);
    const slot = Math.floor(now / slotMs);
    let counter = this.counters.get(key);
    if (!counter || counter.slotMs !== slotMs) {
      if (!count) return { totalHits: 1, timeToExpire: seconds(ttl), isBlocked: limit < 1, timeToBlockExpire: limit < 1 ? seconds(ttl) : 0 };
      counter = { slotMs, slots: new Array<number>(SLOTS).fill(0), newest: slot, total: 0 };
      this.counters.set(key, counter);
    }
    advance(counter, slot);
    if (counter.total + 1 > limit) {
      return {
        totalHits: counter.total + 1,
        timeToExpire: seconds(expiryOfOldest(counter) - now),
        isBlocked: true,
        timeToBlockExpire: Math.max(1, seconds(admissionTime(counter, limit) - now)),
      };
    }
    if (!count) return { totalHits: counter.total + 1, timeToExpire: seconds(expiryOfOldest(counter) - now), isBlocked: false, timeToBlockExpire: 0 };
    counter.slots[slot % SLOTS] += 1;
    counter.total += 1;
    return { totalHits: counter.total, timeToExpire: seconds(expiryOfOldest(counter) - now), isBlocked: false, timeToBlockExpire: 0 };
  }

  /** Forgets keys with no hit left in their window. */
  sweep(): void {
    const now = this.now();
    for (const [key, counter] of this.counters) {
      if (Math.floor(now / counter.slotMs) - counter.newest >= SLOTS) this.counters.delete(key);
    }
  }

  get size(): number {
    return this.counters.size;
  }

  onModuleDestroy(): void {
    clearInterval(this.sweeper);
  }
}

/** Moves the window to `slot`, dropping the slots that fell out of it. */
function advance(counter: Counter, slot: number): void {
  const gap = slot - counter.newest;
  if (gap <= 0) return;
  if (gap >= SLOTS) {
    counter.slots.fill(0);
    counter.total = 0;
  } else {
    for (let s = counter.newest + 1; s <= slot; s += 1) {
      counter.total -= counter.slots[s % SLOTS];
      counter.slots[s % SLOTS] = 0;
    }
  }
  counter.newest = slot;
}

/** When the oldest slot with hits leaves the window (ms since the epoch). */
function expiryOfOldest(counter: Counter): number {
  for (let s = counter.newest - SLOTS + 1; s <= counter.newest; s += 1) {
    if (counter.slots[mod(s)] > 0) return (s + SLOTS) * counter.slotMs;
  }
  return (counter.newest + SLOTS) * counter.slotMs;
}

/** The first time at which the hits still in the window leave room for one more. */
function admissionTime(counter: Counter, limit: number): number {
  let remaining = counter.total;
  for (let s = counter.newest - SLOTS + 1; s <= counter.newest; s += 1) {
    remaining -= counter.slots[mod(s)];
    if (remaining + 1 <= limit) return (s + SLOTS) * counter.slotMs;
  }
  return (counter.newest + SLOTS) * counter.slotMs;
}

const mod = (slot: number) => ((slot % SLOTS) + SLOTS) % SLOTS;
const seconds = (ms: number) => Math.max(0, Math.ceil(ms / 1000));
