import type { ExecutionContext } from '@nestjs/common';
import type { Reflector } from '@nestjs/core';
import { SkipThrottle } from '@nestjs/throttler';

/**
 * The metadata key `@SkipThrottle()` writes for the default throttler, read off the decorator itself
 * (applied once to a probe class) rather than imported from the package's unexported constants.
 */
const SKIP_KEY: string = (() => {
  class Probe {}
  SkipThrottle()(Probe);
  const key = Reflect.getMetadataKeys(Probe).find((name) => typeof name === 'string' && Reflect.getMetadata(name, Probe) === true);
  if (typeof key !== 'string') throw new Error('@nestjs/throttler: @SkipThrottle() no longer writes a metadata key this guard can read');
  return key;
})();

/**
 * Whether the route or its controller carries `@SkipThrottle()` (from `@nestjs/throttler`),
 * which opts it out of every limit: the per-key budget and the per-address failure limit.
 */
export function isThrottleSkipped(reflector: Reflector, context: ExecutionContext): boolean {
  return reflector.getAllAndOverride<boolean>(SKIP_KEY, [context.getHandler(), context.getClass()]) === true;
}
