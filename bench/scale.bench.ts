/**
 * `npm run build && npm run bench:scale [-- --rows N]`: Vega on PostgreSQL and Redis, one run.
 * On a private PostgreSQL server (the tests' harness) it seeds `--rows` conversations (default
 * 1,000,000; the SQLite benchmark's data, `db-seed.ts`), starts the built Vega on it and times, one
 * request after another on one connection, /history pages, full-text searches (ranked and newest
 * first) and 30-day usage reports; then the insert throughput of the real write path
 * (`PostgresConversationRepository`: group commit, one multi-row INSERT per batch) with 16 and 256
 * exchanges in flight; then the CPU cost per /chat request of per-key limits kept in a private
 * redis-server against the same limits kept in process. Prints a table, then the figures as JSON.
 * Options: --rows, --requests (GETs per series, default 1000), --inserts (default 100,000),
 * --limits-seconds (load per round, default 10), --shared-buffers (the server's, default 1GB).
 */
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { createClient } from 'redis';
import { Pool } from 'undici';
import type { ConversationSource } from '../src/core/persistence/conversation.entity';
import { DatabaseHealth } from '../src/core/persistence/database-health';
import { buildDataSourceOptions } from '../src/core/persistence/data-source-options';
import { openPgDataSource } from '../src/core/persistence/postgres/pg-data-source-options';
import { PostgresConversationRepository } from '../src/core/persistence/postgres/postgres-conversation.repository';
import { startPostgres } from '../test/support/postgres';
import { RedisServer } from '../test/support/redis-server';
import { PROBES, seedExchanges } from './db-seed';
import { type Figures, GET_WARMUP, sequentialGets } from './gets';
import { maxThroughput, type Target } from './load';
import { seedPostgres } from './pg-seed';
import { children, cpuTimeMs, parentPid, processTreeCpuMs, startFakeOllama, startVega } from './processes';

const { values: options } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000' },
    requests: { type: 'string', default: '1000' },
    inserts: { type: 'string', default: '100000' },
    'limits-seconds': { type: 'string', default: '10' },
    'shared-buffers': { type: 'string', default: '1GB' },
  },
});
const ROWS = Number(options.rows);
const REQUESTS = Number(options.requests);
const INSERTS = Number(options.inserts);
const LIMITS_SECONDS = Number(options['limits-seconds']);
/**
 * The server's cache. PostgreSQL's default (128MB) is meant to be raised (a quarter of the
 * memory is the usual advice): ranked search reads a page per match, and the 1,500 MB database's
 * hot pages are read from the kernel's cache instead of PostgreSQL's own with it.
 */
const SHARED_BUFFERS = options['shared-buffers']!;
/** The vocabulary rank of the "common word": ~12 % of the rows, the share of P2's slow case (37k matches in 300k rows). */
const COMMON_RANK = 48;

interface GetRow extends Figures {
  label: string;
  target?: number;
}

const log = (line: string) => console.log(line);
const fixed = (n: number, digits = 2) => n.toFixed(digits).padStart(8);

async function main(): Promise<void> {
  console.log(
    `Vega scale benchmark — ${new Date().toISOString()} — node ${process.version}, ${cpus().length} CPUs, load average ${loadavg()[0].toFixed(1)}; PostgreSQL shared_buffers ${SHARED_BUFFERS}`,
  );
  const postgres = await startPostgres({ shared_buffers: SHARED_BUFFERS });
  const cleanup: (() => Promise<unknown>)[] = [() => postgres.dispose()];
  try {
    const url = await postgres.createDatabase();
    const postmaster = await postmasterPid(url);
    const serverCpuMs = () => processTreeCpuMs(postmaster);
    console.log(`Seeding ${ROWS.toLocaleString('en')} conversations into a private PostgreSQL`);
    // A session's CPU reaches the postmaster's count once it has reaped it: wait for sessions to end ("postgres: vega <db> …").
    const sessionsEnded = async () => {
      for (let waited = 0; children(postmaster).some((child) => child.command.startsWith('postgres: vega ')) && waited < 5000; waited += 50) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    };
    await sessionsEnded();
    const seedCpu = serverCpuMs();
    const seeded = await seedPostgres(url, ROWS, log);
    await sessionsEnded();
    const seedServerCpuUs = Math.round(((serverCpuMs() - seedCpu) * 1000) / ROWS);
    const stats = await sql<{ size: string; common: string }>(
      url,
      `SELECT pg_database_size(current_database()) AS size,
              (SELECT count(*) FROM conversations WHERE search_vector @@ phraseto_tsquery('vega_search', $1)) AS common`,
      [seeded.words[COMMON_RANK - 1]],
    );
    const common = { word: seeded.words[COMMON_RANK - 1], matches: Number(stats.common) };
    const seed = {
      seconds: seeded.seconds,
      rowsPerSecond: Math.round(ROWS / seeded.seconds),
      serverCpuUsPerRow: seedServerCpuUs,
      databaseMb: Math.round(Number(stats.size) / 1024 / 1024),
    };
    console.log(
      `Seeded in ${seed.seconds.toFixed(1)} s (${seed.rowsPerSecond.toLocaleString('en')} rows/s, PostgreSQL CPU ${seedServerCpuUs} µs per row); ` +
        `database ${seed.databaseMb} MB; "${common.word}" in ${common.matches.toLocaleString('en')} rows`,
    );

    const fake = await startFakeOllama();
    cleanup.unshift(() => fake.stop());
    const gets = await timeGets(url, seeded.sessions, common.word);
    const inserts = await insertThroughput(url, serverCpuMs);
    const limits = await limitsCpu(url, fake.url);

    console.log(`\nSummary (load average now ${loadavg()[0].toFixed(1)}: the 2 cores are shared, figures are noisy)`);
    console.log(`| request (${ROWS.toLocaleString('en')} rows) | p50 | p99 | target |\n|---|---|---|---|`);
    for (const row of gets) {
      const verdict = row.target === undefined ? '' : `p99 ≤ ${row.target} ms — ${row.p99 <= row.target ? 'met' : 'missed'}`;
      console.log(`| ${row.label} | ${row.p50.toFixed(2)} ms | ${row.p99.toFixed(2)} ms | ${verdict} |`);
    }
    for (const run of inserts) {
      console.log(
        `| insert, ${run.inFlight} in flight, fsync ${run.fsync ? 'on' : 'off'} | ${run.rowsPerSecond.toLocaleString('en')} rows/s measured, ${run.cpuBoundRowsPerSecond.toLocaleString('en')} rows/s by CPU per row | | ≥ 10,000 rows/s — ${run.rowsPerSecond >= 10_000 ? 'met' : run.cpuBoundRowsPerSecond >= 10_000 ? 'met by CPU cost only' : 'missed'} |`,
      );
    }
    console.log(
      `| /chat CPU per request, limits in process | ${limits.local.vegaUs} µs | | |\n| /chat CPU per request, limits on Redis | ${limits.redis.vegaUs} µs + redis-server ${limits.redis.redisUs} µs | | |`,
    );
    console.log(JSON.stringify({ date: new Date().toISOString(), node: process.version, cpus: cpus().length, rows: ROWS, sharedBuffers: SHARED_BUFFERS, seed, common, gets, inserts, limits }));
  } finally {
    for (const step of cleanup) await step().catch(() => undefined);
  }
}

/** The server's main process: the parent of a session's backend, read while the session is open (it exits with it). */
async function postmasterPid(url: string): Promise<number> {
  const { Client } = await import('pg');
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return parentPid(Number((await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid));
  } finally {
    await client.end();
  }
}

/** One query's one row, on a connection of its own. */
async function sql<T>(url: string, text: string, values: unknown[] = []): Promise<T> {
  const { Client } = await import('pg');
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(text, values)).rows[0] as T;
  } finally {
    await client.end();
  }
}

async function timeGets(url: string, sessions: string[], commonWord: string): Promise<GetRow[]> {
  const vega = await startVega({ DATABASE_URL: url, OLLAMA_URL: 'http://127.0.0.1:9', RATE_LIMIT_PER_MINUTE: '0', LOG_LEVEL: 'info' });
  const pool = new Pool(vega.url, { connections: 1 });
  const headers = { 'x-api-key': vega.apiKey };
  const rows: GetRow[] = [];
  const run = async (label: string, path: (i: number) => string, target?: number, requests = REQUESTS) => {
    const figures = await sequentialGets(pool, headers, path, requests);
    rows.push({ label, ...figures, target });
    console.log(`${label.padEnd(58)} p50 ${fixed(figures.p50)} ms  p99 ${fixed(figures.p99)} ms  max ${fixed(figures.max, 1)} ms${figures.errors ? `  errors ${figures.errors}` : ''}`);
  };
  const pick = <T>(items: T[], i: number) => items[(i * 7919) % items.length];
  try {
    console.log(`Sequential GETs on one connection, ${REQUESTS} each after ${GET_WARMUP} warm-up requests:`);
    await run('/history?limit=50 (first page)', () => '/history?limit=50', 10);
    await run('/history?limit=50&cursor=<random id> (any depth)', (i) => `/history?limit=50&cursor=${1 + ((i * 104_729) % ROWS)}`, 10);
    await run('/session/<random session>', (i) => `/session/${pick(sessions, i)}`);
    await run(`search q=${PROBES.rare} (~0.1 % of rows, ranked)`, () => `/history?q=${PROBES.rare}&limit=20`, 50);
    await run(`search q=${PROBES.phrase} (phrase, ~0.5 %, ranked)`, () => `/history?q=${encodeURIComponent(PROBES.phrase)}&limit=20`, 50);
    await run(`search q=${PROBES.medium} (~1 %, ranked)`, () => `/history?q=${PROBES.medium}&limit=20`, 50);
    await run(`search q=${PROBES.medium}&sort=newest`, () => `/history?q=${PROBES.medium}&sort=newest&limit=20`, 50);
    // A very common word: every match is scored. Fewer requests, each is slow.
    await run(`search q=${commonWord} (~12 %, ranked)`, () => `/history?q=${commonWord}&limit=20`, 50, Math.min(REQUESTS, 200));
    await run(`search q=${commonWord}&sort=newest`, () => `/history?q=${commonWord}&sort=newest&limit=20`, 50);
    const usageRequests = Math.min(REQUESTS, 200);
    await run('/admin/usage (last 30 days, by key)', () => '/admin/usage', 200, usageRequests);
    await run('/admin/usage?group_by=day,key (30 days)', () => '/admin/usage?group_by=day,key', 200, usageRequests);
    await run('/admin/usage?group_by=lane,model (30 days)', () => '/admin/usage?group_by=lane,model', 200, usageRequests);
    return rows;
  } finally {
    await pool.close();
    await vega.stop();
  }
}

/**
 * Exchanges through Vega's own PostgreSQL write path, in this process: `inFlight` callers each
 * await their row's id, then store the next, as that many requests ending at once would.
 */
/**
 * A run of the write path: wall-clock rate, and the CPU each row cost (PostgreSQL's processes and
 * this one's, where the repository batches), which the machine's other work does not change:
 * `cpuBoundRowsPerSecond` is the rate if the write path had every core to itself.
 */
interface InsertRun {
  inFlight: number;
  /** Whether the server synced its WAL at each commit (`fsync`; the harness runs without). */
  fsync: boolean;
  rows: number;
  seconds: number;
  rowsPerSecond: number;
  cpuUsPerRow: { postgres: number; vega: number };
  cpuBoundRowsPerSecond: number;
}

async function insertThroughput(url: string, serverCpuMs: () => number): Promise<InsertRun[]> {
  const dataSource = await openPgDataSource(buildDataSourceOptions({ database: { type: 'postgres', url } }));
  const repository = new PostgresConversationRepository(dataSource, new DatabaseHealth());
  const results = [];
  try {
    console.log(`Insert throughput of the write path, ${INSERTS.toLocaleString('en')} exchanges per run on the ${ROWS.toLocaleString('en')}-row table:`);
    const runs = [
      { inFlight: 16, fsync: false },
      { inFlight: 256, fsync: false },
      { inFlight: 256, fsync: true },
    ];
    for (const { inFlight, fsync } of runs) {
      // fsync is a reloadable setting: each run on the same server and table, with or without it.
      await sql(url, `ALTER SYSTEM SET fsync = ${fsync ? 'on' : 'off'}`);
      await sql(url, 'SELECT pg_reload_conf()');
      const source = seedExchanges(INSERTS, Date.now()).exchanges[Symbol.iterator]();
      const started = process.hrtime.bigint();
      const cpuBefore = { postgres: serverCpuMs(), vega: process.cpuUsage() };
      const worker = async () => {
        for (let next = source.next(); !next.done; next = source.next()) {
          const row = next.value;
          await repository.insert({
            prompt: row.prompt,
            response: row.response,
            source: row.source as ConversationSource,
            sessionId: row.sessionId,
            model: row.model,
            status: row.status as 'ok',
            promptTokens: row.promptTokens,
            completionTokens: row.completionTokens,
            durationMs: row.durationMs,
            keyId: row.keyId,
            modelMs: row.modelMs,
          });
        }
      };
      await Promise.all(Array.from({ length: inFlight }, worker));
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const vegaCpu = process.cpuUsage(cpuBefore.vega);
      const cpuUsPerRow = {
        postgres: Math.round(((serverCpuMs() - cpuBefore.postgres) * 1000) / INSERTS),
        vega: Math.round((vegaCpu.user + vegaCpu.system) / INSERTS),
      };
      const cpuBoundRowsPerSecond = Math.round((cpus().length * 1e6) / (cpuUsPerRow.postgres + cpuUsPerRow.vega));
      const run = { inFlight, fsync, rows: INSERTS, seconds, rowsPerSecond: Math.round(INSERTS / seconds), cpuUsPerRow, cpuBoundRowsPerSecond };
      results.push(run);
      console.log(
        `  ${String(inFlight).padStart(3)} in flight, fsync ${fsync ? 'on ' : 'off'}: ${run.rowsPerSecond.toLocaleString('en')} rows/s (${seconds.toFixed(1)} s); CPU per row ` +
          `PostgreSQL ${cpuUsPerRow.postgres} µs + Vega ${cpuUsPerRow.vega} µs → ${cpuBoundRowsPerSecond.toLocaleString('en')} rows/s on ${cpus().length} idle cores`,
      );
    }
  } finally {
    await repository.onApplicationShutdown();
    await dataSource.destroy();
  }
  return results;
}

interface LimitsRun {
  requests: number;
  rps: number;
  errors: number;
  vegaUs: number;
  redisUs: number;
}

/**
 * The same /chat load (fake Ollama, cache off) on two instances that differ only in where the
 * per-key limits live: in process, or in a private redis-server (rate limit, tokens per minute,
 * concurrent streams, day and month budgets: every limit on). Rounds alternate between the two so
 * the machine's other work weighs on both alike; CPU time is read from /proc (Vega) and INFO
 * (redis-server).
 */
async function limitsCpu(url: string, ollamaUrl: string): Promise<{ local: LimitsRun; redis: LimitsRun; redisKeys: number }> {
  const redis = await RedisServer.start();
  const client = createClient({ url: redis.url });
  await client.connect();
  const limitsEnv = {
    DATABASE_URL: url,
    OLLAMA_URL: ollamaUrl,
    CACHE_TTL_SECONDS: '0',
    LOG_LEVEL: 'info',
    RATE_LIMIT_PER_MINUTE: '1000000',
    KEY_DEFAULT_TOKENS_PER_MINUTE: '1000000000',
    KEY_DEFAULT_CONCURRENT_STREAMS: '10000',
    KEY_DEFAULT_TOKENS_PER_DAY: '1000000000000',
    KEY_DEFAULT_TOKENS_PER_MONTH: '1000000000000',
  };
  const local = await startVega(limitsEnv);
  const shared = await startVega({ ...limitsEnv, REDIS_URL: redis.url });
  const redisCpuMs = async () => {
    const info = await client.info('cpu');
    const field = (name: string) => Number(new RegExp(`${name}:([0-9.]+)`).exec(info)?.[1] ?? 0);
    return (field('used_cpu_user') + field('used_cpu_sys')) * 1000;
  };
  const body = JSON.stringify({ prompt: 'Say hello in five words.' });
  const target = (vega: { url: string; apiKey: string }): Target => ({ url: vega.url, path: '/chat', headers: { 'x-api-key': vega.apiKey }, body });
  const totals = new Map([local, shared].map((vega) => [vega, { requests: 0, seconds: 0, errors: 0, vegaMs: 0, redisMs: 0 }]));
  try {
    console.log(`CPU per /chat request, limits in process vs on Redis: 8 connections, 3 rounds of ${LIMITS_SECONDS} s each, alternating`);
    for (const vega of [local, shared]) await maxThroughput(target(vega), 8, 3);
    for (let round = 0; round < 3; round += 1) {
      for (const vega of [local, shared]) {
        const before = { vega: cpuTimeMs(vega.pid), redis: await redisCpuMs() };
        const result = await maxThroughput(target(vega), 8, LIMITS_SECONDS);
        const total = totals.get(vega)!;
        total.requests += result.requests;
        total.errors += result.errors;
        total.seconds += LIMITS_SECONDS;
        total.vegaMs += cpuTimeMs(vega.pid) - before.vega;
        total.redisMs += (await redisCpuMs()) - before.redis;
      }
    }
    const figures = (vega: typeof local): LimitsRun => {
      const total = totals.get(vega)!;
      return {
        requests: total.requests,
        rps: Math.round(total.requests / total.seconds),
        errors: total.errors,
        vegaUs: Math.round((total.vegaMs * 1000) / total.requests),
        redisUs: Math.round((total.redisMs * 1000) / total.requests),
      };
    };
    const result = { local: figures(local), redis: figures(shared), redisKeys: await client.dbSize() };
    for (const [label, run] of [['in process', result.local], ['on Redis', result.redis]] as const) {
      console.log(`  limits ${label.padEnd(10)} ${run.rps} req/s (errors ${run.errors}); CPU per request: vega ${run.vegaUs} µs, redis-server ${run.redisUs} µs`);
    }
    console.log(`  keys in Redis after the load: ${result.redisKeys}`);
    return result;
  } finally {
    await local.stop();
    await shared.stop();
    await client.quit().catch(() => undefined);
    await redis.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
