import { join } from 'node:path';
import { PersistenceModule } from '../../src/core/persistence/persistence.module';
import { finished, runVega, spawnVega, type VegaResult } from '../support/cli';
import { describeWithPostgres, type PostgresServer, queryPostgres } from '../support/postgres';
import { insertRows } from '../support/seed';
import { queryDb } from '../support/sqlite';
import { tempDir } from '../support/test-app';

const EXCHANGES = 3000;
const PASSWORD = 's3cret-copy-pw';

interface CopySummary {
  from: string;
  to: string;
  tables: { table: string; source_rows: number; resumed_after: number; copied: number; target_rows: number; checksum: string }[];
  usage_daily: string;
  verified: boolean;
}

/** A migrated SQLite file holding exchanges with every column filled (and the odd values), keys, audit rows and spool keys. */
async function seedSource(path: string): Promise<void> {
  await (await PersistenceModule.open({ type: 'sqlite', path })).destroy();
  const day = Date.UTC(2026, 0, 1);
  await insertRows(
    path,
    'conversations',
    Array.from({ length: EXCHANGES }, (_, i) => ({
      ts: new Date(day + i * 97_000).toISOString().replace('T', ' ').slice(0, 23),
      prompt: i === 7 ? 'a NUL \u0000 inside, and ünïcödé ✓' : `question ${i} about topic${i % 10} kubernetes`,
      response: `answer ${i} ${'x'.repeat(i % 50)}`,
      source: ['api', 'cli', 'openai'][i % 3],
      session_id: i % 4 === 0 ? `s${i % 40}` : null,
      rating: i % 5 === 0 ? (i % 2) * 2 - 1 : null,
      tags: i % 6 === 0 ? 'a,b' : null,
      notes: i % 9 === 0 ? `note ${i}` : null,
      reviewed: i % 2,
      model: i % 3 === 0 ? 'mistral' : 'llama3',
      status: i % 17 === 0 ? 'error' : 'ok',
      prompt_tokens: 10 + (i % 30),
      completion_tokens: 20 + (i % 70),
      duration_ms: 100 + i,
      ttft_ms: 5 + (i % 11),
      kind: i % 10 === 0 ? 'chat.completions' : 'chat',
      request: JSON.stringify({ messages: [{ role: 'user', content: `question ${i}` }] }),
      answer: i % 2 === 0 ? JSON.stringify({ content: `answer ${i}` }) : null,
      tool_text: i % 25 === 0 ? `get_weather city${i}` : null,
      response_id: i % 8 === 0 ? `resp_${i}` : null,
      key_id: i % 3 === 0 ? `key-${i % 4}` : null,
      model_ms: 80 + i,
      served_model: i % 3 === 0 ? 'mistral:7b' : null,
      target: i % 2 === 0 ? 'gpu-a' : 'gpu-b',
    })),
  );
  // A row of the Python original: a `T` and microseconds.
  await insertRows(path, 'conversations', [{ ts: '2025-06-01T10:20:30.123456', prompt: 'from python', response: 'old' }]);
  const iso = (n: number) => new Date(day + n * 3_600_000).toISOString();
  await insertRows(
    path,
    'api_keys',
    ['alpha', 'beta', 'gamma'].map((name, i) => ({
      id: `k${i}`,
      name,
      secret_hash: `hash-${name}`,
      prefix: `vk_${name}`,
      scopes: '["chat"]',
      models: i === 1 ? '["mistral"]' : null,
      limits: '{}',
      expires_at: i === 2 ? iso(900) : null,
      created_at: iso(i),
      updated_at: iso(i + 1),
      last_used_at: i === 0 ? iso(50) : null,
      revoked_at: i === 1 ? iso(60) : null,
    })),
  );
  await insertRows(
    path,
    'audit_log',
    Array.from({ length: 40 }, (_, i) => ({
      ts: iso(i),
      key_id: `k${i % 3}`,
      route: '/api/pull',
      models: '["mistral"]',
      outcome: i % 7 === 0 ? 'error' : 'ok',
      status: i % 7 === 0 ? 502 : 200,
      duration_ms: 1000 + i,
      detail: i % 7 === 0 ? 'backend down' : null,
    })),
  );
  // Text keys whose byte order is not a linguistic collation's: both sides must agree on it.
  await insertRows(path, 'spool_applied', ['b', 'B', 'a', 'Z', 'é', '_x', '10', '9'].map((key) => ({ key })));
}

const withPassword = (url: string) => url.replace('postgres://vega@', `postgres://vega:${PASSWORD}@`);

function summary(result: VegaResult): CopySummary {
  expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
  expect(result.stdout).not.toContain(PASSWORD);
  return JSON.parse(result.stdout) as CopySummary;
}

const checksums = (copy: CopySummary) => Object.fromEntries(copy.tables.map((t) => [t.table, t.checksum]));
const counts = (copy: CopySummary) => Object.fromEntries(copy.tables.map((t) => [t.table, t.target_rows]));

describeWithPostgres('vega db copy', (server: () => PostgresServer) => {
  const temp = tempDir('vega-db-copy-');
  const sourcePath = join(temp.dir, 'source.db');
  let first: CopySummary;
  let firstTarget: string;

  beforeAll(async () => {
    await seedSource(sourcePath);
  }, 60_000);
  afterAll(() => temp.remove());

  it('copies every table of a SQLite file into an empty PostgreSQL database, verified by counts and checksums', async () => {
    firstTarget = await server().createDatabase();
    first = summary(await runVega(['db', 'copy', '--from', `sqlite:${sourcePath}`, '--to', withPassword(firstTarget), '--json']));
    expect(counts(first)).toEqual({ conversations: EXCHANGES + 1, api_keys: 3, audit_log: 40, spool_applied: 8 });
    expect(first.tables.every((t) => t.source_rows === t.target_rows && t.copied === t.source_rows && t.resumed_after === 0)).toBe(true);
    expect(first).toMatchObject({ verified: true, usage_daily: "rebuilt by the target's triggers" });
    expect(first.to).toContain('***');

    // The ids as they were, and the sequence past them: a new row takes the next id.
    const [ids] = await queryPostgres<{ n: number; distinct: number; max: string }>(firstTarget, `SELECT count(*)::int AS n, count(DISTINCT id)::int AS distinct, max(id)::text AS max FROM conversations`);
    expect(ids).toEqual({ n: EXCHANGES + 1, distinct: EXCHANGES + 1, max: String(EXCHANGES + 1) });
    const [inserted] = await queryPostgres<{ id: string }>(firstTarget, `INSERT INTO conversations (prompt, response) VALUES ('new', 'row') RETURNING id::text`);
    expect(inserted.id).toBe(String(EXCHANGES + 2));
    await queryPostgres(firstTarget, `DELETE FROM conversations WHERE id = ${EXCHANGES + 2}`);

    // Instants kept (the Python row's microseconds to the millisecond), the NUL as U+FFFD.
    const rows = await queryPostgres<{ ts: Date; prompt: string }>(firstTarget, `SELECT ts, prompt FROM conversations WHERE id IN (8, ${EXCHANGES + 1}) ORDER BY id`);
    expect(rows.map((row) => row.ts.toISOString())).toEqual([new Date(Date.UTC(2026, 0, 1) + 7 * 97_000).toISOString(), '2025-06-01T10:20:30.123Z']);
    expect(rows[0].prompt).toBe('a NUL \uFFFD inside, and ünïcödé ✓');

    // The target made its derived data itself: the usage rollup equals the source's, the search finds the rows.
    const rollup = `SELECT day, key_id, model, source, requests, prompt_tokens, completion_tokens, errors FROM usage_daily WHERE requests > 0 ORDER BY 1, 2, 3, 4`;
    const pgRollup = await queryPostgres(firstTarget, rollup.replace('SELECT day', 'SELECT day::text AS day').replace(/, (requests|prompt_tokens|completion_tokens|errors)/g, ', $1::int AS $1'));
    expect(pgRollup).toEqual(await queryDb(sourcePath, rollup));
    const [found] = await queryPostgres<{ n: number }>(firstTarget, `SELECT count(*)::int AS n FROM conversations WHERE search_vector @@ to_tsquery('simple', 'topic3')`);
    expect(found.n).toBe(EXCHANGES / 10);
  }, 120_000);

  it('run again on its finished copy: nothing is copied twice, the checksums are the same', async () => {
    const again = summary(await runVega(['db', 'copy', '--from', `sqlite:${sourcePath}`, '--to', firstTarget, '--json']));
    expect(again.tables.map((t) => t.copied)).toEqual([0, 0, 0, 0]);
    expect(again.tables.map((t) => t.resumed_after)).toEqual(first.tables.map((t) => t.source_rows));
    expect(checksums(again)).toEqual(checksums(first));
  }, 60_000);

  it('killed mid-way, then run again: continues after the last copied id, no duplicates, verified', async () => {
    const target = await server().createDatabase();
    const child = spawnVega(['db', 'copy', '--from', `sqlite:${sourcePath}`, '--to', target, '--batch-size', '20', '--json']);
    const exit = finished(child);
    child.stdin!.end();
    let copied = 0;
    while (copied === 0) {
      await new Promise((wait) => setTimeout(wait, 10));
      copied = await queryPostgres<{ n: number }>(target, 'SELECT count(*)::int AS n FROM conversations').then(
        ([row]) => row.n,
        () => 0, // the schema is not there yet
      );
    }
    child.kill('SIGKILL');
    expect((await exit).signal).toBe('SIGKILL');
    const [partial] = await queryPostgres<{ n: number }>(target, 'SELECT count(*)::int AS n FROM conversations');
    expect(partial.n).toBeGreaterThan(0);
    expect(partial.n).toBeLessThan(EXCHANGES + 1);

    const resumed = summary(await runVega(['db', 'copy', '--from', `sqlite:${sourcePath}`, '--to', target, '--json']));
    const conversations = resumed.tables.find((t) => t.table === 'conversations')!;
    expect(conversations.resumed_after).toBe(partial.n);
    expect(conversations.resumed_after + conversations.copied).toBe(EXCHANGES + 1);
    expect(checksums(resumed)).toEqual(checksums(first));
    const [ids] = await queryPostgres<{ n: number; distinct: number }>(target, `SELECT count(*)::int AS n, count(DISTINCT id)::int AS distinct FROM conversations`);
    expect(ids).toEqual({ n: EXCHANGES + 1, distinct: EXCHANGES + 1 });
  }, 120_000);

  it('copies PostgreSQL back into a new SQLite file with the same checksums', async () => {
    const back = join(temp.dir, 'back.db');
    const copy = summary(await runVega(['db', 'copy', '--from', withPassword(firstTarget), '--to', `sqlite:${back}`, '--json']));
    expect(checksums(copy)).toEqual(checksums(first));
    expect(await queryDb(back, `SELECT ts FROM conversations WHERE id = 1`)).toEqual(await queryDb(sourcePath, `SELECT ts FROM conversations WHERE id = 1`));
    expect(await queryDb(back, `SELECT count(*) AS n FROM conversations_fts WHERE conversations_fts MATCH 'topic3'`)).toEqual([{ n: EXCHANGES / 10 }]);
  }, 120_000);

  it('a copy changed since (a row in the middle): the verification finds it, exit 1 naming the table', async () => {
    await queryPostgres(firstTarget, `UPDATE conversations SET response = 'edited' WHERE id = 1500`);
    const result = await runVega(['db', 'copy', '--from', `sqlite:${sourcePath}`, '--to', firstTarget]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/the copy does not match its source: conversations: the rows differ \(checksum [0-9a-f]{32} ≠ [0-9a-f]{32}\)$/m);
  }, 60_000);

  it('refuses a target holding other rows (exit 2, the reason), writing nothing', async () => {
    const target = await server().createDatabase();
    await (await PersistenceModule.open({ type: 'postgres', url: target })).destroy();
    await queryPostgres(target, `INSERT INTO conversations (id, prompt, response) VALUES (1, 'someone else''s', 'row')`);
    const result = await runVega(['db', 'copy', '--from', `sqlite:${sourcePath}`, '--to', withPassword(target)]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/already holds other rows: conversations has 1 row\(s\)/);
    expect(result.stderr).not.toContain(PASSWORD);
    expect(await queryPostgres(target, 'SELECT count(*)::int AS n FROM conversations')).toEqual([{ n: 1 }]);
    expect(await queryPostgres(target, 'SELECT count(*)::int AS n FROM api_keys')).toEqual([{ n: 0 }]);
  }, 60_000);

  it('a target it cannot reach: exit 1, naming the side, without the password', async () => {
    const unreachable = `postgres://vega:${PASSWORD}@127.0.0.1:1/vega`;
    const result = await runVega(['db', 'copy', '--from', `sqlite:${sourcePath}`, '--to', unreachable]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/cannot open the target postgres:\/\/vega:\*\*\*@127\.0\.0\.1:1\/vega: .*ECONNREFUSED/);
    expect(result.stderr).not.toContain(PASSWORD);
  }, 60_000);

  it('refuses a wrong command line with exit 2', async () => {
    const cases: [string[], RegExp][] = [
      [['--from', `sqlite:${sourcePath}`], /give --from and --to/],
      [['--from', 'mysql://x/y', '--to', `sqlite:${join(temp.dir, 'x.db')}`], /--from must be sqlite:<path> or postgres:/],
      [['--from', `sqlite:${join(temp.dir, 'missing.db')}`, '--to', `sqlite:${join(temp.dir, 'y.db')}`], /the source .*missing\.db does not exist/],
      [['--from', `sqlite:${sourcePath}`, '--to', `sqlite:${sourcePath}`], /name the same database/],
    ];
    for (const [args, message] of cases) {
      const result = await runVega(['db', 'copy', ...args]);
      expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 2, stderr: expect.stringMatching(message) });
    }
  }, 90_000);
});
