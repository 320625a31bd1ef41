import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { DatabaseUnavailableError } from '../../src/common/errors/app-errors';
import { DatabaseHealth } from '../../src/core/persistence/database-health';
import { pgDataSourceOptions } from '../../src/core/persistence/postgres/pg-data-source-options';
import { describeWithPostgres } from '../support/postgres';
import { freePort } from '../support/vega-process';

/** What a statement's failure becomes once `DatabaseHealth` has translated it, against a real server. */
async function failure(work: Promise<unknown>): Promise<unknown> {
  try {
    await new DatabaseHealth().guard(work);
  } catch (error) {
    return error;
  }
  throw new Error('the statement did not fail');
}

describeWithPostgres('PostgreSQL failures as app errors (503 with Retry-After, never 500)', (server) => {
  const opened: DataSource[] = [];
  const open = async (url: string, statementTimeoutMs?: number) => {
    const dataSource = await new DataSource({ ...pgDataSourceOptions({ url, statementTimeoutMs, poolSize: 2 }) }).initialize();
    opened.push(dataSource);
    return dataSource;
  };

  afterAll(async () => {
    await Promise.all(opened.map((dataSource) => dataSource.destroy().catch(() => undefined)));
  });

  it('a statement past the statement timeout', async () => {
    const dataSource = await open(await server().createDatabase(), 200);
    const error = await failure(dataSource.query('SELECT pg_sleep(5)'));
    expect(error).toBeInstanceOf(DatabaseUnavailableError);
    expect(error).toMatchObject({ status: 503, retryAfterSeconds: 5, message: 'the database is unavailable (the statement ran past DB_STATEMENT_TIMEOUT_SEC); retry in a few seconds' });
  });

  it('a server with no connection left (too many clients)', async () => {
    // A role allowed one connection (a superuser, as the harness's own user is, is never refused).
    const role = `limited_${Date.now()}`;
    const admin = new Client({ connectionString: server().url() });
    await admin.connect();
    try {
      await admin.query(`CREATE ROLE ${role} LOGIN CONNECTION LIMIT 1`);
    } finally {
      await admin.end();
    }
    const url = new URL(server().url());
    url.username = role;
    const holder = new Client({ connectionString: url.toString() });
    await holder.connect();
    try {
      const error = await failure(open(url.toString()));
      expect(error).toBeInstanceOf(DatabaseUnavailableError);
      expect((error as Error).message).toBe('the database is unavailable (it has no free connection: too many clients); retry in a few seconds');
    } finally {
      await holder.end();
    }
  });

  it('a server that refuses connections, in words that name neither host nor password', async () => {
    const url = `postgres://vega:s3cret-pw@127.0.0.1:${await freePort()}/vega`;
    const error = await failure(open(url));
    expect(error).toBeInstanceOf(DatabaseUnavailableError);
    expect((error as Error).message).toBe('the database is unavailable (the server cannot be reached); retry in a few seconds');
  });

  it('a connection the server ends', async () => {
    const url = await server().createDatabase();
    const dataSource = await open(url);
    const runner = dataSource.createQueryRunner();
    try {
      const [{ pid }] = (await runner.query('SELECT pg_backend_pid() AS pid')) as { pid: number }[];
      const admin = new Client({ connectionString: server().url() });
      await admin.connect();
      const victim = failure(runner.query('SELECT pg_sleep(5)'));
      await new Promise((resolve) => setTimeout(resolve, 200));
      await admin.query('SELECT pg_terminate_backend($1)', [pid]);
      await admin.end();
      const error = await victim;
      expect(error).toBeInstanceOf(DatabaseUnavailableError);
      expect((error as Error).message).toBe('the database is unavailable (the connection to the server was lost); retry in a few seconds');
    } finally {
      await runner.release().catch(() => undefined);
    }
  });
});
