import { statSync } from 'node:fs';
import { DataSource } from 'typeorm';
import {
  BACKSTOP_CHECKPOINT_PAGES,
  CHECKPOINT_INTERVAL_MS,
  IDLE_CHECKPOINT_INTERVAL_MS,
  WalCheckpointer,
} from '../../src/core/persistence/sqlite/wal-checkpointer';
import { useAppWithFakeOllama } from '../support/test-app';
import { describeSqliteOnly } from '../support/test-database';

const sizeOf = (file: string) => statSync(file).size;

describeSqliteOnly('WAL checkpoints (server)', "it measures SQLite's write-ahead log file", () => {
  const { start } = useAppWithFakeOllama();

  it('copies stored exchanges into the database file from beside the request path', async () => {
    const t = await start();
    // The connection that stores exchanges only checkpoints past the backstop...
    const [{ wal_autocheckpoint }] = await t.app.get(DataSource).query('PRAGMA wal_autocheckpoint');
    expect(wal_autocheckpoint).toBe(BACKSTOP_CHECKPOINT_PAGES);
    // ...let a pass pick the first writes up, then measure from there.
    await new Promise((wait) => setTimeout(wait, 4 * CHECKPOINT_INTERVAL_MS));
    const before = sizeOf(t.dbPath);

    // ~200 pages of new rows: far below SQLite's default checkpoint threshold (1,000 pages),
    // so without the background passes they would all still be in the WAL only.
    for (let i = 0; i < 50; i += 1) {
      const response = await t.request('/chat', { body: { prompt: `${i} ${'lorem ipsum dolor sit amet '.repeat(140)}` } });
      expect(response.status).toBe(200);
    }

    const deadline = Date.now() + 40 * CHECKPOINT_INTERVAL_MS;
    while (sizeOf(t.dbPath) - before < 50 * 4096 && Date.now() < deadline) {
      await new Promise((wait) => setTimeout(wait, 50));
    }
    expect(sizeOf(t.dbPath) - before).toBeGreaterThanOrEqual(50 * 4096);
    // Every exchange was stored and reads back whole.
    const { items } = await (await t.request('/history?limit=100')).json();
    expect(items).toHaveLength(50);
    expect(items[0].prompt).toMatch(/^49 lorem ipsum/);
  });

  it('passes less often while nothing is written, and often again as soon as something is', async () => {
    const t = await start();
    const checkpointer = t.app.get(WalCheckpointer);
    const waitFor = async (condition: () => boolean) => {
      const deadline = Date.now() + 5_000;
      while (!condition() && Date.now() < deadline) await new Promise((wait) => setTimeout(wait, 20));
      return condition();
    };
    expect(await waitFor(() => checkpointer.nextPassInMs === IDLE_CHECKPOINT_INTERVAL_MS)).toBe(true);
    // A write while the checkpointer sleeps: the pass after it goes back to the short interval
    // (and the wait then doubles again, taking 750 ms to climb back to the idle one).
    expect((await t.request('/chat', { body: { prompt: 'wake up' } })).status).toBe(200);
    expect(await waitFor(() => checkpointer.nextPassInMs < IDLE_CHECKPOINT_INTERVAL_MS)).toBe(true);
  });
});
