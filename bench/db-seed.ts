import sqlite3 from 'sqlite3';
import { DataSource } from 'typeorm';
import { buildDataSourceOptions } from '../src/core/persistence/data-source-options';

/** Deterministic pseudo-random numbers (mulberry32), so every run seeds the same data. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Words whose frequency the benchmark knows, to search for: about 0.1 %, 1 % and 0.5 % (as a phrase) of prompts. */
export const PROBES = { rare: 'kubernetes', medium: 'database', phrase: '"circuit breaker"' } as const;

function vocabulary(next: () => number, size: number): string[] {
  const syllables = ['ka', 'lo', 'mi', 're', 'tu', 'sen', 'dar', 'vel', 'on', 'is', 'pra', 'gu', 'the', 'ber', 'no', 'ax'];
  const words = new Set<string>();
  while (words.size < size) {
    const parts = 1 + Math.floor(next() * 3);
    let word = '';
    for (let i = 0; i < parts; i += 1) word += syllables[Math.floor(next() * syllables.length)];
    words.add(word);
  }
  return [...words];
}

/** Zipf-distributed word picker (rank r drawn with weight 1/r), as in natural text. */
function zipf(words: string[], next: () => number): () => string {
  const cumulative: number[] = [];
  let total = 0;
  for (let rank = 1; rank <= words.length; rank += 1) cumulative.push((total += 1 / rank));
  return () => {
    const target = next() * total;
    let low = 0;
    let high = cumulative.length - 1;
    while (low < high) {
      const mid = (low + high) >> 1;
      if (cumulative[mid] < target) low = mid + 1;
      else high = mid;
    }
    return words[low];
  };
}

export interface SeedResult {
  rows: number;
  sessions: string[];
  seconds: number;
}

/**
 * Creates the schema with the app's own migrations, then inserts `rows` conversations straight
 * into SQLite: multi-row INSERTs in large transactions, with the FTS triggers on (the index is
 * built as production builds it). A year of timestamps, sessions of 1..12 exchanges, 5 % rated.
 */
export async function seedDatabase(path: string, rows: number, log: (line: string) => void): Promise<SeedResult> {
  const dataSource = await new DataSource(buildDataSourceOptions({ database: { type: 'sqlite', path } })).initialize();
  await dataSource.destroy();

  const db = new sqlite3.Database(path);
  const run = (sql: string, params: unknown[] = []) =>
    new Promise<void>((resolve, reject) => db.run(sql, params, (error) => (error ? reject(error) : resolve())));
  await run('PRAGMA journal_mode = WAL');
  await run('PRAGMA synchronous = OFF');
  await run('PRAGMA cache_size = -262144');

  const next = random(42);
  const word = zipf(vocabulary(next, 4000), next);
  const sentence = (min: number, max: number) => {
    const count = min + Math.floor(next() * (max - min + 1));
    const out: string[] = [];
    for (let i = 0; i < count; i += 1) out.push(word());
    return out;
  };
  const started = Date.now();
  const spanMs = 365 * 86_400_000;
  const firstTs = started - spanMs;
  const sessions: string[] = [];
  let session = '';
  let left = 0;
  const PER_STATEMENT = 400;
  const PER_TRANSACTION = 50_000;
  const group = '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)';
  const fullStatement = Array.from({ length: PER_STATEMENT }, () => group).join(', ');
  const insert = (count: number) =>
    `INSERT INTO conversations (ts, prompt, response, source, session_id, rating, reviewed, model, status, prompt_tokens, completion_tokens) VALUES ${
      count === PER_STATEMENT ? fullStatement : Array.from({ length: count }, () => group).join(', ')
    }`;

  await run('BEGIN');
  for (let done = 0; done < rows; ) {
    const count = Math.min(PER_STATEMENT, rows - done);
    const params: unknown[] = [];
    for (let i = 0; i < count; i += 1) {
      const index = done + i;
      if (left === 0) {
        session = (sessions.length + 1).toString(16).padStart(16, '0');
        sessions.push(session);
        left = 1 + Math.floor(next() * 12);
      }
      left -= 1;
      const prompt = sentence(6, 18);
      const roll = next();
      if (roll < 0.001) prompt.splice(2, 0, PROBES.rare);
      else if (roll < 0.011) prompt.splice(1, 0, PROBES.medium);
      else if (roll < 0.016) prompt.splice(3, 0, 'circuit', 'breaker');
      const response = sentence(25, 60);
      const ts = new Date(firstTs + Math.floor((index / rows) * spanMs)).toISOString().replace('T', ' ').slice(0, 23);
      const rated = next() < 0.05;
      params.push(
        ts,
        prompt.join(' '),
        response.join(' '),
        next() < 0.9 ? 'api' : 'cli',
        session,
        rated ? 1 + Math.floor(next() * 5) : null,
        rated ? 1 : 0,
        'mistral',
        'ok',
        prompt.length * 2,
        response.length * 2,
      );
    }
    await run(insert(count), params);
    done += count;
    if (done % PER_TRANSACTION === 0 || done === rows) {
      await run('COMMIT');
      if (done % 200_000 === 0 || done === rows) log(`  seeded ${done.toLocaleString('en')} rows (${((Date.now() - started) / 1000).toFixed(0)} s)`);
      if (done < rows) await run('BEGIN');
    }
  }
  await run('PRAGMA wal_checkpoint(TRUNCATE)');
  await run('ANALYZE');
  await new Promise<void>((resolve) => db.close(() => resolve()));
  return { rows, sessions, seconds: (Date.now() - started) / 1000 };
}
