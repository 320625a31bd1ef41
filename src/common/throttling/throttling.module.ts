import { Module } from '@nestjs/common';
import { AuthFailureLimiter } from './auth-failure.limiter';
import { SlidingWindowThrottlerStorage } from './sliding-window.storage';

/**
 * Owns the rate-limit counters, so that their sweep timer stops with the application, and the
 * count of wrong keys per address that the API-key guard feeds.
 */
@Module({
  providers: [{ provide: SlidingWindowThrottlerStorage, useFactory: () => new SlidingWindowThrottlerStorage() }, AuthFailureLimiter],
  exports: [SlidingWindowThrottlerStorage, AuthFailureLimiter],
})
export class ThrottlingModule {}
