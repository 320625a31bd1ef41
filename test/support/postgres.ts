import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { chownSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Client } from 'pg';
import { findPostgresTool } from '../../src/core/persistence/postgres/pg-tools';
import { freePort } from './vega-process';

/**
 * A PostgreSQL server for the tests: a private one (its own data directory and port, trust auth
 * for user `vega`, fsync off), or the one `VEGA_TEST_POSTGRES_URL` names, on which the harness
 * only creates databases (stop/kill/start are then refused).
 */
export interface PostgresServer {
  /** The URL of database `dbName` (default `postgres`) on this server, as `DATABASE_URL` takes it. */
  url(dbName?: string): string;
  /** Creates an empty database with a fresh name; returns its URL. */
  createDatabase(): Promise<string>;
  /** A fast shutdown (SIGINT): sessions are ended, the data stays. */
  stop(): Promise<void>;
  /** SIGKILL to the server and its backends, as a crash would. */
  kill(): Promise<void>;
  /**
   * SIGSTOP to the server and every process it started: connections stay open and
   * connecting still succeeds at the TCP level, but nothing answers, as a hung server or a network
   * black hole. `resume` (SIGCONT) lets it go on where it stopped.
   */
  pause(): Promise<void>;
  resume(): Promise<void>;
  /** Starts the server again on the same data directory and port (after `stop` or `kill`). */
  start(): Promise<void>;
  /** Stops the server and removes its data directory (an external server: nothing). */
  dispose(): Promise<void>;
}

const USER = 'vega';
const START_TIMEOUT_MS = 60_000;

/** The bin directory of the PostgreSQL server (on the PATH, else Debian's newest /usr/lib/postgresql/<major>/bin), if any. */
export function postgresBinDir(): string | undefined {
  const postgres = findPostgresTool('postgres');
  return postgres === undefined ? undefined : dirname(postgres);
}

/** Whether the tests can have a PostgreSQL server (an external one, or the binaries to start one). */
export function postgresAvailable(): boolean {
  return Boolean(process.env.VEGA_TEST_POSTGRES_URL) || postgresBinDir() !== undefined;
}

/**
 * `describe` with a PostgreSQL server started before the file's tests and stopped after them
 * (`server()` returns it). Without one: a clear skip, or a failing test when
 * VEGA_REQUIRE_POSTGRES is set (CI), so a missing server never passes silently.
 */
export function describeWithPostgres(name: string, body: (server: () => PostgresServer) => void): void {
  if (!postgresAvailable()) {
    const reason = 'PostgreSQL is not installed (apt-get install postgresql) and VEGA_TEST_POSTGRES_URL is not set';
    if (process.env.VEGA_REQUIRE_POSTGRES) {
      describe(name, () => {
        it('needs PostgreSQL', () => {
          throw new Error(`${reason}; VEGA_REQUIRE_POSTGRES is set`);
        });
      });
      return;
    }
    process.stderr.write(`Skipping "${name}": ${reason}\n`);
    describe.skip(name, () => body(() => undefined as never));
    return;
  }
  describe(name, () => {
    let server: PostgresServer | undefined;
    beforeAll(async () => {
      server = await startPostgres();
    }, START_TIMEOUT_MS);
    afterAll(async () => {
      await server?.dispose();
    }, START_TIMEOUT_MS);
    body(() => {
      if (!server) throw new Error('the PostgreSQL server did not start');
      return server;
    });
  });
}

/**
 * Starts a private PostgreSQL server, or hands out the external one of VEGA_TEST_POSTGRES_URL.
 * `settings`: server settings for a private one (`-c name=value`), e.g. a benchmark's `shared_buffers`.
 */
export async function startPostgres(settings: Record<string, string> = {}): Promise<PostgresServer> {
  const external = process.env.VEGA_TEST_POSTGRES_URL;
  if (external) return externalServer(external);
  const bin = postgresBinDir();
  if (!bin) throw new Error('PostgreSQL is not installed (apt-get install postgresql)');
  const server = new PrivatePostgres(bin, await freePort(), settings);
  await server.init();
  await server.start();
  return server;
}

function databaseUrl(base: string, dbName: string): string {
  const url = new URL(base);
  url.pathname = `/${dbName}`;
  return url.toString();
}

/** Runs one statement on the database of `url` with a connection of its own (the app keeps its pool). */
export async function queryPostgres<T = Record<string, unknown>>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql, params)).rows as T[];
  } finally {
    await client.end();
  }
}

async function createDatabaseOn(adminUrl: string): Promise<string> {
  const name = `vega_test_${randomBytes(6).toString('hex')}`;
  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  return databaseUrl(adminUrl, name);
}

function externalServer(base: string): PostgresServer {
  const refuse = () => Promise.reject(new Error('VEGA_TEST_POSTGRES_URL names an external server: the tests cannot stop or start it'));
  return {
    url: (dbName = 'postgres') => databaseUrl(base, dbName),
    createDatabase: () => createDatabaseOn(base),
    stop: refuse,
    kill: refuse,
    pause: refuse,
    resume: refuse,
    start: refuse,
    dispose: () => Promise.resolve(),
  };
}

/**
 * PostgreSQL refuses to run as root: as root, initdb and the server run as the `postgres` user
 * (spawned with its uid, so a signal reaches the server itself), in a data directory it owns.
 */
class PrivatePostgres implements PostgresServer {
  private readonly dir = mkdtempSync(join(tmpdir(), 'vega-pg-'));
  private readonly owner = process.getuid?.() === 0 ? postgresUser() : undefined;
  private child?: ChildProcess;
  private exit?: Promise<unknown>;
  private log = '';
  private paused = false;

  constructor(
    private readonly bin: string,
    private readonly port: number,
    private readonly settings: Record<string, string> = {},
  ) {
    if (this.owner) chownSync(this.dir, this.owner.uid, this.owner.gid);
  }

  url(dbName = 'postgres'): string {
    return `postgres://${USER}@127.0.0.1:${this.port}/${dbName}`;
  }

  createDatabase(): Promise<string> {
    return createDatabaseOn(this.url());
  }

  async init(): Promise<void> {
    const args = ['-D', this.dir, '-U', USER, '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-sync'];
    try {
      execFileSync(join(this.bin, 'initdb'), args, { stdio: 'pipe', ...this.owner });
    } catch (error) {
      const { stderr } = error as { stderr?: Buffer };
      throw new Error(`initdb failed: ${stderr?.toString() ?? String(error)}`);
    }
  }

  async start(): Promise<void> {
    if (this.child) throw new Error('the PostgreSQL server is running');
    const settings = Object.entries(this.settings).flatMap(([name, value]) => ['-c', `${name}=${value}`]);
    const args = ['-D', this.dir, '-p', String(this.port), '-k', this.dir, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', ...settings];
    this.log = '';
    // Its own process group: `kill` reaches the backends too, as a crash of the machine would.
    const child = spawn(join(this.bin, 'postgres'), args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true, ...this.owner });
    this.child = child;
    this.exit = once(child, 'exit');
    for (const stream of [child.stdout!, child.stderr!]) stream.setEncoding('utf8').on('data', (chunk: string) => (this.log += chunk));
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) {
        this.child = undefined;
        throw new Error(`PostgreSQL exited at start: ${this.log}`);
      }
      if (await this.accepts()) return;
      if (Date.now() > deadline) throw new Error(`PostgreSQL did not start within ${START_TIMEOUT_MS} ms: ${this.log}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  async stop(): Promise<void> {
    await this.end('SIGINT');
  }

  async kill(): Promise<void> {
    await this.end('SIGKILL');
  }

  /** The postmaster first: stopped, it starts no new backend while its children are stopped. */
  async pause(): Promise<void> {
    const postmaster = this.runningPid();
    process.kill(postmaster, 'SIGSTOP');
    for (const pid of childPids(postmaster)) process.kill(pid, 'SIGSTOP');
    this.paused = true;
  }

  async resume(): Promise<void> {
    const postmaster = this.runningPid();
    for (const pid of childPids(postmaster)) process.kill(pid, 'SIGCONT');
    process.kill(postmaster, 'SIGCONT');
    this.paused = false;
  }

  async dispose(): Promise<void> {
    if (this.paused) await this.resume();
    await this.end('SIGINT').catch(() => this.end('SIGKILL'));
    rmSync(this.dir, { recursive: true, force: true });
  }

  private runningPid(): number {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) throw new Error('the PostgreSQL server is not running');
    return child.pid!;
  }

  private async end(signal: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (!child) return;
    if (child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(signal === 'SIGKILL' ? -child.pid! : child.pid!, signal);
      } catch {
        // Already gone.
      }
      await this.exit;
    }
    if (signal === 'SIGKILL') await this.backendsGone(child.pid!);
    this.child = undefined;
  }

  /** After SIGKILL, the group's backends die too; a new server refuses the directory while one lives. */
  private async backendsGone(pgid: number): Promise<void> {
    for (let i = 0; i < 100; i++) {
      try {
        process.kill(-pgid, 0);
      } catch {
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  private async accepts(): Promise<boolean> {
    const client = new Client({ connectionString: this.url(), connectionTimeoutMillis: 1000 });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.query('SELECT 1');
      return true;
    } catch {
      return false;
    } finally {
      await client.end().catch(() => undefined);
    }
  }
}

/**
 * The processes whose parent is `pid` (Linux `/proc`). PostgreSQL's backends each start a session
 * of their own (`setsid`), so the postmaster's process group does not reach them.
 */
function childPids(pid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // `pid (comm) state ppid …`: comm may hold spaces and parentheses, so read after the last ')'.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) children.push(Number(entry));
    } catch {
      // Gone meanwhile.
    }
  }
  return children;
}

function postgresUser(): { uid: number; gid: number } {
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  try {
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    throw new Error('running as root, and there is no `postgres` user to run PostgreSQL as (PostgreSQL refuses root)');
  }
}
