import { Module } from '@nestjs/common';
import { SlidingWindowThrottlerStorage } from './sliding-window.storage';

/** Owns the rate-limit counters, so that their sweep timer stops with the application. */
@Module({
  providers: [{ provide: SlidingWindowThrottlerStorage, useFactory: () => new SlidingWindowThrottlerStorage() }],
  exports: [SlidingWindowThrottlerStorage],
})
export class ThrottlingModule {}
