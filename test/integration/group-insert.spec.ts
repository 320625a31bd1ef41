import sqlite3 from 'sqlite3';
import { join } from 'node:path';
import { GroupInsert } from '../../src/core/persistence/sqlite/group-insert';
import { tempDir } from '../support/test-app';

interface Row {
  name: string;
  n: number | null;
}

describe('GroupInsert (real SQLite file)', () => {
  const temp = tempDir('vega-group-insert-');
  let db: sqlite3.Database;
  let inserts: GroupInsert<Row>;
  const statementsRun: string[] = [];

  const all = <T>(sql: string) =>
    new Promise<T[]>((resolve, reject) => db.all(sql, (error: Error | null, rows: T[]) => (error ? reject(error) : resolve(rows))));

  beforeAll(async () => {
    db = new sqlite3.Database(join(temp.dir, 'test.db'));
    db.on('profile', (sql: string) => statementsRun.push(sql));
    await new Promise<void>((done, fail) =>
      db.exec(
        'PRAGMA journal_mode = WAL; CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, n INTEGER CHECK (n IS NULL OR n >= 0))',
        (error) => (error ? fail(error) : done()),
      ),
    );
    inserts = new GroupInsert<Row>(db, 't', ['name', 'n'], (row) => [row.name, row.n]);
  });

  afterAll(async () => {
    await inserts.close();
    await new Promise((done) => db.close(done));
    temp.remove();
  });

  beforeEach(() => {
    statementsRun.length = 0;
  });

  it('writes a lone row at once and returns its id', async () => {
    const id = await inserts.insert({ name: 'alone', n: 1 });
    expect(await all(`SELECT id, name, n FROM t WHERE id = ${id}`)).toEqual([{ id, name: 'alone', n: 1 }]);
  });

  it('writes the rows of one event-loop turn in one statement, each caller getting its own id', async () => {
    const rows = Array.from({ length: 50 }, (_, i) => ({ name: `row-${i}`, n: i }));
    const ids = await Promise.all(rows.map((row) => inserts.insert(row)));
    await all('SELECT 1'); // sqlite3 reports finished statements asynchronously
    expect(statementsRun.filter((sql) => sql.startsWith('INSERT'))).toHaveLength(1);
    const stored = await all<{ id: number; name: string }>(`SELECT id, name FROM t WHERE name LIKE 'row-%'`);
    const byId = new Map(stored.map((row) => [row.id, row.name]));
    ids.forEach((id, i) => expect(byId.get(id)).toBe(`row-${i}`));
    expect(new Set(ids).size).toBe(50);
  });

  it('writes the rows that queue behind a write in the next statement', async () => {
    const first = inserts.insert({ name: 'behind-0', n: 0 });
    await new Promise((next) => setImmediate(next)); // the first write is now in flight
    const rest = Array.from({ length: 20 }, (_, i) => inserts.insert({ name: `behind-${i + 1}`, n: i + 1 }));
    const ids = await Promise.all([first, ...rest]);
    await all('SELECT 1');
    expect(statementsRun.filter((sql) => sql.startsWith('INSERT'))).toHaveLength(2);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(new Set(ids).size).toBe(21);
  });

  it('splits batches larger than one statement takes', async () => {
    const many = Array.from({ length: 1200 }, (_, i) => ({ name: `many-${i}`, n: i }));
    const ids = await Promise.all(many.map((row) => inserts.insert(row)));
    await all('SELECT 1');
    expect(statementsRun.filter((sql) => sql.startsWith('INSERT'))).toHaveLength(3); // 500 + 500 + 200
    expect(new Set(ids).size).toBe(1200);
    const stored = await all<{ id: number; name: string }>(`SELECT id, name FROM t WHERE name LIKE 'many-%'`);
    const byId = new Map(stored.map((row) => [row.id, row.name]));
    ids.forEach((id, i) => expect(byId.get(id)).toBe(`many-${i}`));
  });

  it('stores each value as a bound parameter would: text exactly, numbers and null by type', async () => {
    const names = ['nul \u0000 inside', 'emoji 😀 and é', 'quote " backslash \\ newline \n', 'x'.repeat(100_000), '', 'lone \ud800 surrogate'];
    const ids = await Promise.all(names.map((name, i) => inserts.insert({ name, n: i % 2 === 0 ? i : null })));
    const rows = await all<{ id: number; name: string; n: number | null; type: string }>(
      `SELECT id, name, n, typeof(n) AS type FROM t WHERE id IN (${ids.join(', ')}) ORDER BY id`,
    );
    expect(rows.map((row) => row.name)).toEqual([...names.slice(0, 5), 'lone \ufffd surrogate']);
    expect(rows.map((row) => [row.n, row.type])).toEqual([
      [0, 'integer'],
      [null, 'null'],
      [2, 'integer'],
      [null, 'null'],
      [4, 'integer'],
      [null, 'null'],
    ]);
  });

  it('fails only the bad row of a batch', async () => {
    await inserts.insert({ name: 'warm-up', n: 0 });
    const results = await Promise.allSettled([
      inserts.insert({ name: 'first', n: 1 }),
      inserts.insert({ name: 'good', n: 2 }),
      inserts.insert({ name: 'bad', n: -1 }),
      inserts.insert({ name: 'also good', n: 3 }),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    expect(String((results[2] as PromiseRejectedResult).reason)).toMatch(/CHECK constraint failed/);
    const names = (await all<{ name: string }>(`SELECT name FROM t WHERE name IN ('first', 'good', 'bad', 'also good')`)).map(
      (row) => row.name,
    );
    expect(names.sort()).toEqual(['also good', 'first', 'good']);
  });

  it('finishes queued rows on close and refuses new ones after', async () => {
    const local = new GroupInsert<Row>(db, 't', ['name', 'n'], (row) => [row.name, row.n]);
    const pending = [local.insert({ name: 'late-1', n: 1 }), local.insert({ name: 'late-2', n: 2 })];
    await local.close();
    await expect(Promise.all(pending)).resolves.toHaveLength(2);
    await expect(local.insert({ name: 'too late', n: 3 })).rejects.toThrow(/closing/);
  });
});
