import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { seedMany, zeroTablePages } from '../support/corrupt-db';
import { startTestApp, tempDir, TestApp, useAppWithFakeOllama } from '../support/test-app';
import { describeSqliteOnly } from '../support/test-database';

const CORRUPTED = /^database is corrupted: restore a backup \(vega db backup .*backups/;

describeSqliteOnly('A corrupted database', 'it damages the pages of the SQLite file', () => {
  const env = useAppWithFakeOllama();
  let data: ReturnType<typeof tempDir>;
  let t: TestApp;

  beforeEach(async () => {
    data = tempDir('vega-corrupt-');
    const seeding = await env.start({ VEGA_DATA_DIR: data.dir });
    await seedMany(seeding.dbPath, 3000);
    await seeding.close();
    expect(existsSync(`${seeding.dbPath}-wal`)).toBe(false);
    // 8 pages in the middle of the table, zeroed: the file opens, the schema reads, rows do not.
    await zeroTablePages(join(data.dir, 'vega.db'), 8);
    t = await env.start({ VEGA_DATA_DIR: data.dir });
  });

  afterEach(() => data.remove());

  it('answers 503 saying how to restore, and readiness turns down with the reason', async () => {
    // A ping reads no table page: before anything meets the damage, the database looks up.
    expect((await (await t.request('/readyz')).json()).details.database.status).toBe('up');
    // A filter no row matches walks the whole table, through the damaged pages.
    const history = await t.request('/history?source=cli&limit=10');
    expect(history.status).toBe(503);
    expect((await history.json()).message).toMatch(CORRUPTED);
    const ready = await t.request('/readyz');
    expect(ready.status).toBe(503);
    expect((await ready.json()).error.database).toEqual({
      status: 'down',
      message: expect.stringMatching(CORRUPTED),
      detail: expect.stringMatching(/SQLITE_CORRUPT/),
    });
  });

  it('never ends an export cleanly past the damage: the body is cut short, not passed off as complete', async () => {
    const res = await t.request('/admin/export');
    if (res.status === 200) await expect(res.text()).rejects.toThrow();
    else expect(res.status).toBe(503);
    expect((await t.request('/readyz')).status).toBe(503);
  });
});

describeSqliteOnly('A file that is not a database', 'it puts a non-database file where the SQLite file goes', () => {
  it('stops the start with a message that says how to restore', async () => {
    const data = tempDir('vega-notadb-');
    try {
      writeFileSync(join(data.dir, 'vega.db'), Buffer.alloc(8192, 0x41));
      await expect(startTestApp({ VEGA_DATA_DIR: data.dir })).rejects.toThrow(CORRUPTED);
    } finally {
      data.remove();
    }
  });
});
