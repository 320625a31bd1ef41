import { statSync } from 'node:fs';
import { DataSource } from 'typeorm';
import { BACKSTOP_CHECKPOINT_PAGES, CHECKPOINT_INTERVAL_MS } from '../../src/core/persistence/wal-checkpointer';
import { useAppWithFakeOllama } from '../support/test-app';

const sizeOf = (file: string) => statSync(file).size;

describe('WAL checkpoints (server)', () => {
  const { start } = useAppWithFakeOllama();

  it('copies stored exchanges into the database file from beside the request path', async () => {
    const t = await start();
    // The connection that stores exchanges only checkpoints past the backstop...
    const [{ wal_autocheckpoint }] = await t.app.get(DataSource).query('PRAGMA wal_autocheckpoint');
    expect(wal_autocheckpoint).toBe(BACKSTOP_CHECKPOINT_PAGES);
    // ...let a quarter-second pass pick the first writes up, then measure from there.
    await new Promise((wait) => setTimeout(wait, 2 * CHECKPOINT_INTERVAL_MS));
    const before = sizeOf(t.dbPath);

    // ~200 pages of new rows: far below SQLite's default checkpoint threshold (1,000 pages),
    // so without the background passes they would all still be in the WAL only.
    for (let i = 0; i < 50; i += 1) {
      const response = await t.request('/chat', { body: { prompt: `${i} ${'lorem ipsum dolor sit amet '.repeat(140)}` } });
      expect(response.status).toBe(200);
    }

    const deadline = Date.now() + 10 * CHECKPOINT_INTERVAL_MS;
    while (sizeOf(t.dbPath) - before < 50 * 4096 && Date.now() < deadline) {
      await new Promise((wait) => setTimeout(wait, 50));
    }
    expect(sizeOf(t.dbPath) - before).toBeGreaterThanOrEqual(50 * 4096);
    // Every exchange was stored and reads back whole.
    const { items } = await (await t.request('/history?limit=100')).json();
    expect(items).toHaveLength(50);
    expect(items[0].prompt).toMatch(/^49 lorem ipsum/);
  });
});
