import { Inject, Injectable, Logger } from '@nestjs/common';
import { DEFAULT_IPV6_SUBNET_PREFIX, normalizeIp } from '@nestjs/throttler';
import { AppConfig } from '../../config/app-config';
import { SlidingWindowThrottlerStorage } from './sliding-window.storage';

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

  constructor(
    config: AppConfig,
    @Inject(SlidingWindowThrottlerStorage) private readonly storage: SlidingWindowThrottlerStorage,
  ) {
    ({ limit: this.limit, windowMs: this.windowMs } = config.rateLimit.authFailures);
  }

  get enabled(): boolean {
    return this.limit > 0;
  }

  /** Seconds the address must wait before it may try a key again; 0 when it may now. */
  waitFor(ip: string): number {
    if (!this.enabled) return 0;
    return this.storage.peek(keyOf(ip), this.windowMs, this.limit).timeToBlockExpire;
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
  recordFailure(ip: string, reason: Exclude<AuthFailureReason, 'missing' | 'blocked'> = 'invalid'): void {
    this.count(reason);
    if (!this.enabled) return;
    const address = addressOf(ip);
    const key = `auth-failures:${address}`;
    this.storage.hit(key, this.windowMs, this.limit);
    const wait = this.storage.peek(key, this.windowMs, this.limit).timeToBlockExpire;
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
