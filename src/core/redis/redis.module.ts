import { DynamicModule, Global, Injectable, Module } from '@nestjs/common';
import { Gauge } from 'prom-client';
import type { AppConfig } from '../../config/app-config';
import { MetricsRegistry } from '../metrics/metrics-registry';
import { ChangeNotices } from './change-notices';
import { RedisClient } from './redis.client';

/** `vega_redis_up` and Redis's counters on `/metrics`. */
@Injectable()
export class RedisMetrics {
  constructor(registry: MetricsRegistry, redis: RedisClient) {
    registry.registerFamily(redis.errors);
    registry.registerFamily(redis.fallbacks);
    new Gauge({
      name: 'vega_redis_up',
      help: 'Whether Redis answers (1) or limits, budgets and the cache run on this instance alone (0).',
      registers: [registry.registry],
      collect() {
        this.set(redis.up ? 1 : 0);
      },
    });
  }
}

/**
 * Redis for the state several instances share (`REDIS_URL`): the client (bounded calls behind a
 * breaker), change notices, their metrics. Imported by the HTTP app only when Redis is
 * configured; global so the limiter, the answer cache and the key store find it as an optional
 * dependency (absent: they keep everything in the process).
 */
@Global()
@Module({})
export class RedisModule {
  static forRoot(settings: NonNullable<AppConfig['redis']>): DynamicModule {
    const note = `rate limits use this instance's own counters and budgets ${settings.budgetsWhenDown === 'open' ? 'are not enforced' : 'refuse'} (BUDGETS_WHEN_REDIS_DOWN=${settings.budgetsWhenDown}); each target's max concurrency is counted by this instance alone`;
    return {
      module: RedisModule,
      providers: [
        { provide: RedisClient, useFactory: () => new RedisClient(settings, note) },
        { provide: ChangeNotices, inject: [RedisClient], useFactory: (redis: RedisClient) => new ChangeNotices(redis) },
        RedisMetrics,
      ],
      exports: [RedisClient, ChangeNotices],
    };
  }
}
