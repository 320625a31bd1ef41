import { startPostgres, type PostgresServer } from './postgres';
import { RedisServer } from './redis-server';
import { createTemplateDatabase, SHARED_POSTGRES_ENV, testDatabase } from './test-database';

/** What the global teardown stops (jest runs both in its parent process; globals set here reach the teardown). */
export function sharedServers(): { postgres?: PostgresServer; redis?: RedisServer } {
  const holder = globalThis as { vegaSharedServers?: { postgres?: PostgresServer; redis?: RedisServer } };
  return (holder.vegaSharedServers ??= {});
}

/**
 * Jest's global setup: with `VEGA_TEST_DATABASE=postgres`, ONE PostgreSQL server for the whole
 * run (private, or the one of VEGA_TEST_POSTGRES_URL) on which every test app gets a database of
 * its own, copied from a template migrated here once; with `VEGA_TEST_REDIS=1`, one private
 * redis-server whose URL becomes VEGA_TEST_REDIS_URL (each app keys its own prefix). The workers
 * inherit both URLs. Without them: nothing, the suites run on SQLite and in-process state.
 */
export default async function globalSetup(): Promise<void> {
  const servers = sharedServers();
  if (testDatabase() === 'postgres' && !process.env[SHARED_POSTGRES_ENV]) {
    const postgres = (servers.postgres = await startPostgres());
    await createTemplateDatabase(postgres.url());
    process.env[SHARED_POSTGRES_ENV] = postgres.url();
  }
  if (process.env.VEGA_TEST_REDIS === '1' && !process.env.VEGA_TEST_REDIS_URL) {
    servers.redis = await RedisServer.start();
    process.env.VEGA_TEST_REDIS_URL = servers.redis.url;
  }
}
