/**
 * `npm run bench:db` (after `npm run build`): seeds a SQLite file with BENCH_DB_ROWS
 * conversations (default 1,000,000), starts the built Vega on it, and measures, one request
 * after another on one connection: a /history page (first and deep), a session read, full-text
 * searches, usage reports (/admin/usage: 30 days, a year), then streams the whole table through
 * /admin/export while watching Vega's RSS. `BENCH_DB_ONLY=usage` runs only the requests whose label
 * holds that text (and no export); `BENCH_DB_USAGE_INDEX=0` drops the usage index after seeding, to
 * measure the reports without it.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import sqlite3 from 'sqlite3';
import { PROBES, seedDatabase } from './db-seed';
import { type Figures, GET_WARMUP, sequentialGets } from './gets';
import { rssMb, startVega } from './processes';

const ROWS = Number(process.env.BENCH_DB_ROWS ?? 1_000_000);
const REQUESTS = Number(process.env.BENCH_DB_REQUESTS ?? 1000);
const ONLY = process.env.BENCH_DB_ONLY;
const USAGE_INDEX = process.env.BENCH_DB_USAGE_INDEX !== '0';

const pick = <T>(items: T[], i: number) => items[(i * 7919) % items.length];

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'vega-bench-db-'));
  const path = join(dir, 'vega.db');
  try {
    console.log(`Vega database benchmark — ${new Date().toISOString()} — node ${process.version}, ${cpus().length} CPUs`);
    console.log(`Seeding ${ROWS.toLocaleString('en')} conversations into ${path}`);
    const seeded = await seedDatabase(path, ROWS, console.log);
    const size = statSync(path).size / 1024 / 1024;
    console.log(`Seeded in ${seeded.seconds.toFixed(1)} s (${Math.round(ROWS / seeded.seconds).toLocaleString('en')} rows/s); ${seeded.sessions.length.toLocaleString('en')} sessions; file ${size.toFixed(0)} MB`);

    if (!USAGE_INDEX) {
      const db = new sqlite3.Database(path);
      await new Promise<void>((resolve, reject) => db.exec('DROP INDEX ix_conv_usage', (error) => (error ? reject(error) : resolve())));
      await new Promise<void>((resolve) => db.close(() => resolve()));
      console.log('Usage index ix_conv_usage dropped (BENCH_DB_USAGE_INDEX=0)');
    }

    const vega = await startVega({ DATABASE_URL: `sqlite:${path}`, OLLAMA_URL: 'http://127.0.0.1:9', RATE_LIMIT_PER_MINUTE: '0', LOG_LEVEL: 'info' });
    const pool = new Pool(vega.url, { connections: 1 });
    const headers = { 'x-api-key': vega.apiKey };
    try {
      const rows: [string, Figures][] = [];
      const run = async (label: string, path: (i: number) => string, requests?: number) => {
        if (ONLY !== undefined && !label.includes(ONLY)) return;
        const figures = await sequentialGets(pool, headers, path, requests ?? REQUESTS);
        rows.push([label, figures]);
        console.log(
          `${label.padEnd(56)} p50 ${figures.p50.toFixed(2).padStart(7)} ms  p99 ${figures.p99.toFixed(2).padStart(7)} ms  max ${figures.max.toFixed(1).padStart(7)} ms${figures.errors ? `  errors ${figures.errors}` : ''}`,
        );
      };
      console.log(`Sequential GETs on one connection, ${REQUESTS} each after ${GET_WARMUP} warm-up requests:`);
      await run('/history?limit=50 (first page)', () => '/history?limit=50');
      await run('/history?limit=50&cursor=<random id> (any depth)', (i) => `/history?limit=50&cursor=${1 + ((i * 104_729) % ROWS)}`);
      await run('/history?limit=50&min_rating=4', () => '/history?limit=50&min_rating=4');
      await run('/session/<random session>', (i) => `/session/${pick(seeded.sessions, i)}`);
      await run(`/history?q=${PROBES.rare}&limit=20 (~0.1 % of rows)`, () => `/history?q=${PROBES.rare}&limit=20`);
      await run(`/history?q=${PROBES.phrase}&limit=20 (phrase, ~0.5 %)`, () => `/history?q=${encodeURIComponent(PROBES.phrase)}&limit=20`);
      await run(`/history?q=${PROBES.medium}&limit=20 (~1 % of rows)`, () => `/history?q=${PROBES.medium}&limit=20`);
      await run(`/history?q=${PROBES.medium}&sort=newest&limit=20`, () => `/history?q=${PROBES.medium}&sort=newest&limit=20`);
      await run('/admin/status (counts the rows)', () => '/admin/status', 100);
      // The seeded year ends now: the default range (the last 30 days) holds ~1/12 of the rows.
      const USAGE_REQUESTS = 200;
      await run('/admin/usage (last 30 days, by key)', () => '/admin/usage', USAGE_REQUESTS);
      await run('/admin/usage?group_by=day,key (30 days)', () => '/admin/usage?group_by=day,key', USAGE_REQUESTS);
      await run('/admin/usage?group_by=model (30 days)', () => '/admin/usage?group_by=model', USAGE_REQUESTS);
      await run('/admin/usage?group_by=lane,model (30 days)', () => '/admin/usage?group_by=lane,model', USAGE_REQUESTS);
      const yearAgo = new Date(Date.now() - 366 * 86_400_000).toISOString().slice(0, 10);
      await run('/admin/usage?from=<a year ago>&group_by=day,key (every row)', () => `/admin/usage?from=${yearAgo}&group_by=day,key`, 20);
      if (ONLY !== undefined) return;

      console.log('Export: GET /admin/export of every row, RSS of Vega sampled every 100 ms');
      const before = rssMb(vega.pid);
      let peak = before;
      const sampler = setInterval(() => (peak = Math.max(peak, rssMb(vega.pid))), 100);
      const started = process.hrtime.bigint();
      const response = await pool.request({ path: '/admin/export', method: 'GET', headers });
      let lines = 0;
      let bytes = 0;
      for await (const chunk of response.body) {
        bytes += chunk.length;
        for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines += 1;
      }
      clearInterval(sampler);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      console.log(
        `  ${lines.toLocaleString('en')} lines, ${(bytes / 1024 / 1024).toFixed(0)} MB in ${seconds.toFixed(1)} s (${Math.round(lines / seconds).toLocaleString('en')} rows/s); ` +
          `RSS before ${before.toFixed(0)} MB, peak ${peak.toFixed(0)} MB, after ${rssMb(vega.pid).toFixed(0)} MB`,
      );
    } finally {
      await pool.close();
      await vega.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
