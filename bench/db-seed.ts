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

/** Bootstrap keys and managed keys (in `api_keys`), with the share of the exchanges each makes. */
export const SEED_KEYS: { id: string; name: string | null; share: number }[] = [
  { id: 'primary', name: null, share: 0.35 },
  { id: 'k_ana', name: 'ana', share: 0.2 },
  { id: 'k_ci', name: 'ci-pipeline', share: 0.15 },
  { id: 'k_lab', name: 'lab-notebooks', share: 0.1 },
  { id: 'k_bob', name: 'bob', share: 0.08 },
  { id: 'k_eval', name: 'nightly-eval', share: 0.06 },
  { id: 'k_web', name: 'intranet', share: 0.04 },
  { id: 'extra-1', name: null, share: 0.02 },
];
const SEED_MODELS = ['mistral', 'llama3.2', 'qwen2.5-coder:7b', 'gemma3:12b', 'nomic-embed-text'];
const SEED_LANES = ['api', 'api', 'openai', 'openai', 'openai', 'ollama', 'ollama', 'cli', 'anthropic', 'responses'];

function pickShare<T extends { share: number }>(items: T[], roll: number): T {
  let left = roll;
  for (const item of items) {
    if ((left -= item.share) < 0) return item;
  }
  return items[items.length - 1];
}

export interface SeedResult {
  rows: number;
  sessions: string[];
  seconds: number;
}

/** One seeded exchange, engine-neutral (each seeder writes it in its own SQL). */
export interface SeedExchange {
  ts: Date;
  prompt: string;
  response: string;
  source: string;
  sessionId: string;
  rating: number | null;
  reviewed: boolean;
  model: string;
  status: string;
  promptTokens: number;
  completionTokens: number;
  keyId: string;
  durationMs: number;
  modelMs: number;
}

/**
 * The seeded exchanges, the same on every run and engine: a year of timestamps ending at
 * `started`, sessions of 1..12 exchanges, 5 % rated; each exchange made by one of `SEED_KEYS` on
 * one of 5 models and 6 lanes, 2 % errors, 1 % aborted, 3 % cached, durations spread over
 * 0.1..20 s with the backend's time (`model_ms`) a part of them. `sessions` fills as it goes;
 * `words` is the vocabulary by rank (rank 1 the most frequent).
 */
export function seedExchanges(rows: number, started: number): { exchanges: Iterable<SeedExchange>; sessions: string[]; words: string[] } {
  const next = random(42);
  const words = vocabulary(next, 4000);
  const word = zipf(words, next);
  const sentence = (min: number, max: number) => {
    const count = min + Math.floor(next() * (max - min + 1));
    const out: string[] = [];
    for (let i = 0; i < count; i += 1) out.push(word());
    return out;
  };
  const spanMs = 365 * 86_400_000;
  const firstTs = started - spanMs;
  const sessions: string[] = [];
  function* exchanges(): Iterable<SeedExchange> {
    let session = '';
    let left = 0;
    for (let index = 0; index < rows; index += 1) {
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
      const rated = next() < 0.05;
      const outcome = next();
      const status = outcome < 0.02 ? 'error' : outcome < 0.03 ? 'aborted' : outcome < 0.06 ? 'cached' : 'ok';
      const durationMs = status === 'cached' ? 2 + Math.floor(next() * 10) : Math.round(100 + 19_900 * next() * next());
      yield {
        ts: new Date(firstTs + Math.floor((index / rows) * spanMs)),
        prompt: prompt.join(' '),
        response: response.join(' '),
        source: SEED_LANES[Math.floor(next() * SEED_LANES.length)],
        sessionId: session,
        rating: rated ? 1 + Math.floor(next() * 5) : null,
        reviewed: rated,
        model: SEED_MODELS[Math.floor(next() * next() * SEED_MODELS.length)],
        status,
        promptTokens: prompt.length * 2,
        completionTokens: status === 'error' ? 0 : response.length * 2,
        keyId: pickShare(SEED_KEYS, next()).id,
        durationMs,
        modelMs: status === 'cached' ? 0 : Math.round(durationMs * 0.92),
      };
    }
  }
  return { exchanges: exchanges(), sessions, words };
}

/** The managed keys of `SEED_KEYS` (those with a name), as `api_keys` rows: id, name, secret hash, created/updated at. */
export function seedKeyRows(started: number): [string, string, string, string, string][] {
  const created = new Date(started - 400 * 86_400_000).toISOString();
  return SEED_KEYS.filter((key) => key.name !== null).map((key) => [key.id, key.name!, `seed-${key.id}`, created, created]);
}

/**
 * Creates the schema with the app's own migrations, then inserts `rows` conversations
 * (`seedExchanges`) straight into SQLite: multi-row INSERTs in large transactions, with the FTS
 * triggers on (the index is built as production builds it).
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

  const started = Date.now();
  const { exchanges, sessions } = seedExchanges(rows, started);
  const PER_STATEMENT = 400;
  const PER_TRANSACTION = 50_000;
  const group = '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)';
  const fullStatement = Array.from({ length: PER_STATEMENT }, () => group).join(', ');
  const insert = (count: number) =>
    `INSERT INTO conversations (ts, prompt, response, source, session_id, rating, reviewed, model, status, prompt_tokens, completion_tokens, key_id, duration_ms, model_ms) VALUES ${
      count === PER_STATEMENT ? fullStatement : Array.from({ length: count }, () => group).join(', ')
    }`;

  for (const key of seedKeyRows(started)) {
    await run(`INSERT INTO api_keys (id, name, secret_hash, prefix, scopes, limits, created_at, updated_at) VALUES (?, ?, ?, 'vk-seeded', '["chat"]', '{}', ?, ?)`, key);
  }

  const source = exchanges[Symbol.iterator]();
  await run('BEGIN');
  for (let done = 0; done < rows; ) {
    const count = Math.min(PER_STATEMENT, rows - done);
    const params: unknown[] = [];
    for (let i = 0; i < count; i += 1) {
      const row = source.next().value as SeedExchange;
      params.push(
        row.ts.toISOString().replace('T', ' ').slice(0, 23),
        row.prompt,
        row.response,
        row.source,
        row.sessionId,
        row.rating,
        row.reviewed ? 1 : 0,
        row.model,
        row.status,
        row.promptTokens,
        row.completionTokens,
        row.keyId,
        row.durationMs,
        row.modelMs,
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
