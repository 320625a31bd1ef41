import { ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { InjectThrottlerOptions, InjectThrottlerStorage, ThrottlerGuard } from '@nestjs/throttler';
import type { ThrottlerModuleOptions, ThrottlerStorage } from '@nestjs/throttler';
import type { AppConfig } from '../../config/app-config';
import type { AuthenticatedRequest } from '../auth/api-key.guard';
import { Reflector } from '@nestjs/core';
import { MemoizedReflector } from '../metadata/memoized-reflector';

/**
 * Global guard, after the API-key guard: one budget per API key (the key's id, never the key
 * itself) across every route except those with `@SkipThrottle()`; per client IP on a public
 * route that is not skipped. Wrong keys are limited earlier, per address (`AuthFailureGuard`).
 */
@Injectable()
export class KeyThrottlerGuard extends ThrottlerGuard {
  // The same dependencies as the base class, but the metadata reader that caches.
  constructor(
    @InjectThrottlerOptions() options: ThrottlerModuleOptions,
    @InjectThrottlerStorage() storage: ThrottlerStorage,
    @Inject(MemoizedReflector) reflector: Reflector,
  ) {
    super(options, storage, reflector);
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the base class's signature
  protected override async getTracker(req: Record<string, any>): Promise<string> {
    const keyId = (req as Partial<AuthenticatedRequest>).principal?.keyId;
    return keyId ? `key:${keyId}` : `ip:${await super.getTracker(req)}`;
  }

  /** One budget per key across all routes (the default hashes class and handler into it). */
  protected override generateKey(_context: ExecutionContext, tracker: string, throttlerName: string): string {
    return `${throttlerName}:${tracker}`;
  }
}

/**
 * `RATE_LIMIT_PER_MINUTE` for every key, unless the key has its own requests per minute (a
 * managed key's limit, or `RATE_LIMIT_OVERRIDES` for a bootstrap key); a limit of 0 switches
 * limiting off.
 */
export function throttlerOptions(config: AppConfig, storage: ThrottlerStorage): ThrottlerModuleOptions {
  const limitFor = (context: ExecutionContext): number =>
    context.switchToHttp().getRequest<AuthenticatedRequest>().principal?.limits.requestsPerMinute ?? config.rateLimit.perMinute;
  return {
    throttlers: [{ name: 'default', ttl: 60_000, limit: limitFor }],
    storage,
    skipIf: (context) => limitFor(context) === 0,
    errorMessage: (_context, detail) =>
      `Too many requests: the limit is ${detail.limit} per minute; retry in ${detail.timeToBlockExpire} s`,
  };
}
