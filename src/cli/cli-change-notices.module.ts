import { Global, Module } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { ChangeNotices, type ChangeTopic } from '../core/redis/change-notices';
import { RedisClient } from '../core/redis/redis.client';

/** What a running server does about a change it was not told of. */
const WITHOUT_NOTICE: Partial<Record<ChangeTopic, string>> = {
  keys: 'running servers see it within 0.5 s, when they next read the key',
  generation: 'running servers keep their generation settings until they restart',
};

function warnDropped(topic: ChangeTopic): void {
  process.stderr.write(`warning: Redis (REDIS_URL) did not take the change notice: ${WITHOUT_NOTICE[topic] ?? 'running servers do not learn of it'}\n`);
}

/**
 * For the commands that change what running servers keep in memory (`vega keys`, `vega gen`):
 * with `REDIS_URL` the change is announced as the HTTP routes announce it, so every server
 * applies it at once. Redis down or too slow costs the command `REDIS_TIMEOUT_MS` (per notice)
 * and a warning line, never a hang. Without `REDIS_URL` nothing is provided (the services take
 * the notices as optional). Global, so the key store of `KeysModule` finds it too.
 */
@Global()
@Module({
  providers: [
    {
      provide: RedisClient,
      inject: [AppConfig],
      useFactory: ({ redis }: AppConfig) => (redis ? new RedisClient(redis, 'change notices are not sent') : null),
    },
    {
      provide: ChangeNotices,
      inject: [RedisClient],
      useFactory: (redis: RedisClient | null) => redis && new ChangeNotices(redis, { listen: false, onDropped: warnDropped }),
    },
  ],
  exports: [ChangeNotices],
})
export class CliChangeNoticesModule {}
