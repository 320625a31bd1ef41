import type { ExecutionContext } from '@nestjs/common';
import type { Reflector } from '@nestjs/core';
import { THROTTLER_SKIP } from '@nestjs/throttler/dist/throttler.constants';

/**
 * Whether the route or its controller carries `@SkipThrottle()` (from `@nestjs/throttler`),
 * which opts it out of every limit: the per-key budget and the per-address failure limit.
 */
export function isThrottleSkipped(reflector: Reflector, context: ExecutionContext): boolean {
  return reflector.getAllAndOverride<boolean>(`${THROTTLER_SKIP}default`, [context.getHandler(), context.getClass()]) === true;
}
