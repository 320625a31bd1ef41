import type { LimitName } from '../../common/auth/key-limits';

/**
 * Per-key limits and budgets, as the limiter enforces them. A key's call is admitted (a slot of
 * its concurrent streams taken and an estimate of its tokens reserved) or refused; once it ends
 * it is settled with what it really used, or released when it did no work. The operations are
 * atomic per key: two calls racing for a key's last tokens are never both admitted beyond what
 * is left. The in-memory adapter serves one process; a shared store (Redis) can implement the
 * same three operations for several.
 */

/**
 * The limits this port enforces (requests per minute is the rate limiter's), by their wire names
 * (`LIMIT_FIELDS`): a refusal, the metrics and the README name them so.
 */
export const KEY_LIMITS = ['concurrent_streams', 'tokens_per_minute', 'tokens_per_day', 'tokens_per_month', 'model_seconds_per_day'] as const satisfies readonly LimitName[];
export type KeyLimitName = (typeof KEY_LIMITS)[number];

/** A key's limits in force (defaults applied): a positive number is the limit, 0 none. */
export interface EffectiveLimits {
  concurrentStreams: number;
  tokensPerMinute: number;
  tokensPerDay: number;
  tokensPerMonth: number;
  modelSecondsPerDay: number;
}

/** One call asking to be admitted: whose, under which limits, and the tokens it may use (estimate). */
export interface UsageDemand {
  keyId: string;
  limits: EffectiveLimits;
  tokens: number;
}

/** What a call used: tokens (prompt + completion) and the backend's time on it. */
export interface Usage {
  tokens: number;
  modelMs: number;
}

/** Why a call was refused: the limit, its value, and when to come back. */
export interface UsageRefusal {
  limit: KeyLimitName;
  value: number;
  /** What the key has used of it (in-flight reservations included), in the limit's unit. */
  used: number;
  retryAfterMs: number;
  /** Budgets: when the budget starts afresh (the next UTC day or month). */
  resetAt?: Date;
}

/** An admitted call; handed back to `settle` or `release` exactly once. */
export interface UsageLease {
  readonly keyId: string;
  /** The tokens reserved at admission. */
  readonly reserved: number;
}

export type Admission = { lease: UsageLease } | { refusal: UsageRefusal };

export abstract class UsageLimiter {
  /** Admits the call (takes a slot, reserves `demand.tokens`) or says which limit refuses it. */
  abstract admit(demand: UsageDemand): Promise<Admission>;
  /** What `admit` would answer now, without taking anything (checked before a stream's headers go out). */
  abstract check(demand: UsageDemand): Promise<UsageRefusal | undefined>;
  /** The call ended: frees its slot and replaces its reservation with what it used. */
  abstract settle(lease: UsageLease, used: Usage): Promise<void>;
  /** The call did no work (answered from the cache): frees its slot and its reservation, charges nothing. */
  abstract release(lease: UsageLease): Promise<void>;
}

/** Whether any limit is in force (a key with none is not metered at all). */
export function anyLimit(limits: EffectiveLimits): boolean {
  return Object.values(limits).some((value) => value > 0);
}

/** 00:00 UTC of `at`'s day, and of the next. */
export function utcDay(at: number): { start: number; end: number } {
  const date = new Date(at);
  const start = Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate());
  return { start, end: start + 86_400_000 };
}

/** 00:00 UTC of the first of `at`'s month, and of the next month. */
export function utcMonth(at: number): { start: number; end: number } {
  const date = new Date(at);
  return { start: Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1), end: Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 1) };
}
