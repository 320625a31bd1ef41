import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { DEFAULT_IPV6_SUBNET_PREFIX, normalizeIp } from '@nestjs/throttler';
import { AppConfig } from '../../config/app-config';
import { RedisClient } from '../../core/redis/redis.client';
import { RedisThrottlerStorage } from '../../core/redis/redis-throttler.storage';
import { SlidingWindowThrottlerStorage, type ThrottleDecision } from './sliding-window.storage';

const addressOf = (ip: string): string => normalizeIp(ip, DEFAULT_IPV6_SUBNET_PREFIX);

/**
 * Why an authentication failed: no key sent, a key nobody issued, a revoked or expired one, or
 * any key from an address refused for too many wrong ones (`vega_auth_failures_total{reason}`).
 */
export const AUTH_FAILURE_REASONS = ['missing', 'invalid', 'revoked', 'expired', 'blocked'] as const;
export type AuthFailureReason = (typeof AUTH_FAILURE_REASONS)[number];
const keyOf = (ip: string): string => `auth-failures:${addressOf(ip)}`;

/**
 * Wrong API keys per client address (an IPv6 client by its /64): `AUTH_FAILURE_LIMIT` of them
 * within `AUTH_FAILURE_WINDOW_SEC` and the address is refused, whatever key it sends, until
 * enough of them have left the window. A right key is refused too: otherwise a 200 among the
 * 429s would tell a guesser it found one, and guessing would go on at full speed.
 * Only a key that was sent and refused counts (a request without one guesses nothing).
 * With Redis the count is shared by every instance (one script per decision, bounded by
 * `REDIS_TIMEOUT_MS`): a guesser spreading its tries over N instances gets the limit, not N times
 * it. While Redis cannot answer, this instance counts alone.
 */
@Injectable()
export class AuthFailureLimiter {
  private readonly logger = new Logger('Auth');
  private readonly limit: number;
  private readonly windowMs: number;
  /** When each address was last logged as refused. */
  private readonly loggedAt = new Map<string, number>();
  private prunedAt = 0;
  private readonly failures = new Map<AuthFailureReason, number>(AUTH_FAILURE_REASONS.map((reason) => [reason, 0]));
  /** Where the failures are counted: this process, or Redis (falling back to this process). */
  private readonly window: { increment(key: string, ttl: number, limit: number): Promise<ThrottleDecision>; peek(key: string, ttl: number, limit: number): ThrottleDecision | Promise<ThrottleDecision> };

  constructor(
    config: AppConfig,
    @Inject(SlidingWindowThrottlerStorage) private readonly storage: SlidingWindowThrottlerStorage,
    @Optional() redis?: RedisClient,
  ) {
    ({ limit: this.limit, windowMs: this.windowMs } = config.rateLimit.authFailures);
    this.window = redis ? new RedisThrottlerStorage(redis, storage, storage.now) : storage;
  }

  get enabled(): boolean {
    return this.limit > 0;
  }

  /** Seconds the address must wait before it may try a key again; 0 when it may now. */
  async waitFor(ip: string): Promise<number> {
    if (!this.enabled) return 0;
    return (await this.window.peek(keyOf(ip), this.windowMs, this.limit)).timeToBlockExpire;
  }

  /** Counts a failed authentication for the metrics, whether or not it counts against the address. */
  count(reason: AuthFailureReason): void {
    this.failures.set(reason, this.failures.get(reason)! + 1);
  }

  /** Failed authentications since the start, by reason. */
  counts(): ReadonlyMap<AuthFailureReason, number> {
    return this.failures;
  }

  /**
   * Counts a refused key. The failure that uses up the address's budget is logged (the address,
   * never the key), at most once per window: a guesser that paces itself to the limit refills
   * the budget with every try, and would otherwise write a line each time.
   */
  async recordFailure(ip: string, reason: Exclude<AuthFailureReason, 'missing' | 'blocked'> = 'invalid'): Promise<void> {
    this.count(reason);
    if (!this.enabled) return;
    const address = addressOf(ip);
    const key = keyOf(ip);
    await this.window.increment(key, this.windowMs, this.limit);
    const wait = (await this.window.peek(key, this.windowMs, this.limit)).timeToBlockExpire;
    if (wait > 0 && this.firstTimeInWindow(address)) {
      this.logger.warn(
        `Too many failed API-key attempts from ${address} (${this.limit} within ${this.windowMs / 1000} s): ` +
          `its requests are refused for ${wait} s`,
      );
    }
  }

  private firstTimeInWindow(address: string): boolean {
    const now = this.storage.now();
    const last = this.loggedAt.get(address);
    if (last !== undefined && now - last < this.windowMs) return false;
    // Once a window, forget the addresses logged before it: many addresses cannot grow the map.
    if (now - this.prunedAt >= this.windowMs) {
      for (const [other, at] of this.loggedAt) if (now - at >= this.windowMs) this.loggedAt.delete(other);
      this.prunedAt = now;
    }
    this.loggedAt.set(address, now);
    return true;
  }
}
