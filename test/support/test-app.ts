import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createHttpApp, type HttpAppOptions } from '../../src/app/create-http-app';
import { StaticKeyStore } from '../../src/common/auth/api-key-store';
import type { KeyLimits, Principal, Scope } from '../../src/common/auth/principal';
import { Agent } from 'undici';
import { FakeOllama, type FakeOllamaOptions } from './fake-ollama';
import type { FakeModelSpec } from './fake-ollama-model';
import { AppConfig, loadConfig } from '../../src/config/app-config';
import { AppLogger } from '../../src/core/logging/app-logger';
import { createTestDatabase, dropTestDatabase, testDatabase } from './test-database';

export const TEST_API_KEY = 'test-key-0123456789abcdef';

/** A fetch Response whose JSON is typed loosely, as tests inspect arbitrary bodies. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type TestResponse = Omit<Response, 'json'> & { json(): Promise<any> };

export interface TestApp {
  app: NestFastifyApplication;
  url: string;
  config: AppConfig;
  dataDir: string;
  /** Where the app stores its records: the SQLite file, or on PostgreSQL the database's URL (queryDb/execDb take either). */
  dbPath: string;
  /** The environment that gives a CLI run (`runVega`) the app's database besides VEGA_DATA_DIR: DATABASE_URL on PostgreSQL. */
  databaseEnv: Record<string, string>;
  /** The app's log lines (JSON), kept here rather than written to the console. */
  logs: string[];
  /** fetch against the app with the API key (unless `key: null`), JSON body encoded. */
  request(path: string, init?: { method?: string; body?: unknown; key?: string | null; headers?: Record<string, string> }): Promise<TestResponse>;
  close(): Promise<void>;
}

/** A temporary data directory, removed by the returned function. */
export function tempDir(prefix = 'vega-test-'): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Starts the real HTTP app (same factory as production) on a loopback port, with a fresh
 * SQLite file in a temporary directory, or with `VEGA_TEST_DATABASE=postgres` a fresh database on
 * the suite's PostgreSQL server (unless `env` names a database). `env` overrides the test defaults; `options.keyStores`
 * adds keys (e.g. `scopedKeys()`, with fewer scopes). The app's log lines go to `logs`, never to the console.
 */
export async function startTestApp(env: Record<string, string> = {}, options: Pick<HttpAppOptions, 'keyStores'> = {}): Promise<TestApp> {
  const temp = tempDir();
  // VEGA_TEST_DATABASE=postgres runs the suites on PostgreSQL: a database per app, dropped at close,
  // or per data directory when the test names one (an app started again on it finds its records).
  const database = testDatabase() === 'postgres' && env.DATABASE_URL === undefined ? await postgresDatabaseFor(env.VEGA_DATA_DIR) : undefined;
  const ownDatabase = database && !env.VEGA_DATA_DIR ? database : undefined;
  const config = loadConfig({
    VEGA_DATA_DIR: temp.dir,
    API_KEY: TEST_API_KEY,
    LOG_LEVEL: 'fatal',
    LLM_RETRY_BACKOFF: '0.01',
    // VEGA_TEST_REDIS_URL runs the suites on Redis (a key space per app, as one instance each).
    ...(process.env.VEGA_TEST_REDIS_URL ? { REDIS_URL: process.env.VEGA_TEST_REDIS_URL, REDIS_PREFIX: `${temp.dir.slice(-12)}:` } : {}),
    ...(database ? { DATABASE_URL: database } : {}),
    ...env,
  });
  const logs: string[] = [];
  const appLogger = new AppLogger(config, { write: (line: string) => void logs.push(line) });
  const app = await createHttpApp(config, { apiKey: config.auth.apiKey ?? TEST_API_KEY, logger: false, appLogger, ...options });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.getHttpServer().address() as { port: number };
  const url = `http://127.0.0.1:${address.port}`;
  return {
    app,
    url,
    config,
    dataDir: temp.dir,
    dbPath: config.database.type === 'sqlite' ? config.database.path : config.database.url,
    databaseEnv: config.database.type === 'postgres' ? { DATABASE_URL: config.database.url } : {},
    logs,
    request: (path, init = {}) => {
      const headers: Record<string, string> = { ...init.headers };
      const key = init.key === undefined ? TEST_API_KEY : init.key;
      if (key !== null) headers['x-api-key'] = key;
      let body: string | undefined;
      if (init.body !== undefined) {
        body = typeof init.body === 'string' ? init.body : JSON.stringify(init.body);
        headers['content-type'] ??= 'application/json';
      }
      return fetch(`${url}${path}`, { method: init.method ?? (body === undefined ? 'GET' : 'POST'), headers, body });
    },
    close: async () => {
      await app.close();
      temp.remove();
      if (ownDatabase) await dropTestDatabase(ownDatabase);
    },
  };
}

const databasesByDataDir = new Map<string, string>();

/** The test app's PostgreSQL database: a fresh one, or the one of the data directory the test reuses. */
async function postgresDatabaseFor(dataDir: string | undefined): Promise<string> {
  if (dataDir === undefined) return createTestDatabase();
  let url = databasesByDataDir.get(dataDir);
  if (!url) databasesByDataDir.set(dataDir, (url = await createTestDatabase()));
  return url;
}

/**
 * Registers the usual hooks of an e2e file: one fake Ollama for the file (by its models, or
 * its whole options), a fresh app (and SQLite file) per test via `start()`, closed and reset
 * after each test, and `dispatcher()`: an HTTP agent for a client SDK, whose keep-alive
 * connections are destroyed after the test so the app can close.
 */
export function useAppWithFakeOllama(fakeOptions: FakeModelSpec[] | FakeOllamaOptions = ['mistral']) {
  const fake = new FakeOllama(Array.isArray(fakeOptions) ? { models: fakeOptions } : fakeOptions);
  const agents: Agent[] = [];
  let current: TestApp | undefined;
  beforeAll(async () => {
    await fake.start();
  });
  afterAll(async () => {
    await fake.stop();
  });
  afterEach(async () => {
    await Promise.all(agents.splice(0).map((agent) => agent.destroy()));
    await current?.close();
    current = undefined;
    fake.reset();
  });
  return {
    fake,
    start: async (env: Record<string, string> = {}, options: Pick<HttpAppOptions, 'keyStores'> = {}): Promise<TestApp> => {
      current = await startTestApp({ OLLAMA_URL: fake.url, ...env }, options);
      return current;
    },
    /** The app of the running test (after `start()`). */
    get app(): TestApp {
      if (!current) throw new Error('start() the app first');
      return current;
    },
    dispatcher: (): Agent => {
      const agent = new Agent();
      agents.push(agent);
      return agent;
    },
  };
}

/** A test key: its scopes, or its scopes with a model allow-list and limits. */
export type TestKey = Scope[] | { scopes: Scope[]; models?: string[]; limits?: KeyLimits };

/**
 * Keys that hold only the given scopes (and models and limits, when given), by secret (at least
 * 16 characters): the key id and name are `key-1`, `key-2`… in order. For
 * `startTestApp(env, { keyStores: [scopedKeys(…)] })`.
 */
export function scopedKeys(keys: Record<string, TestKey>): StaticKeyStore {
  return new StaticKeyStore(
    Object.entries(keys).map(([secret, key], index) => {
      const { scopes, models, limits } = Array.isArray(key) ? { scopes: key, models: undefined, limits: undefined } : key;
      const principal: Principal = {
        keyId: `key-${index + 1}`,
        name: `key-${index + 1}`,
        kind: 'managed',
        scopes: new Set(scopes),
        models: models ?? null,
        limits: limits ?? {},
      };
      return { secret, principal };
    }),
  );
}
