import { sharedServers } from './global-setup';
import { dropTemplateDatabase, SHARED_POSTGRES_ENV } from './test-database';

/** Stops the servers the global setup started (and removes the private PostgreSQL's data directory). */
export default async function globalTeardown(): Promise<void> {
  const servers = sharedServers();
  const admin = process.env[SHARED_POSTGRES_ENV];
  if (servers.postgres && admin) await dropTemplateDatabase(admin);
  await servers.postgres?.dispose();
  await servers.redis?.stop();
}
