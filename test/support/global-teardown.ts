import { sharedServers } from './global-setup';
import { dropTemplateDatabase, SHARED_POSTGRES_ENV } from './test-database';

/** Stops the servers the global setup started (the template database and the private server's data directory go too). */
export default async function globalTeardown(): Promise<void> {
  const servers = sharedServers();
  if (servers.postgres) {
    const admin = process.env[SHARED_POSTGRES_ENV];
    if (admin) await dropTemplateDatabase(admin);
    await servers.postgres.dispose();
  }
  await servers.redis?.stop();
}
