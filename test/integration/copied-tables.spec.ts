import { COPIED_TABLES } from '../../src/core/persistence/copy/copied-tables';
import { PersistenceModule } from '../../src/core/persistence/persistence.module';
import { queryDb } from '../support/sqlite';
import { tempDir } from '../support/test-app';

/**
 * `vega db copy` names every column it moves: a column a later migration adds must be added there
 * too, or the copy would drop it silently. (postgres-migrations.spec.ts holds PostgreSQL's schema
 * to SQLite's.)
 */
describe('COPIED_TABLES', () => {
  it("lists every column of every table of the migrated schema, except the usage rollup the triggers rebuild", async () => {
    const temp = tempDir('vega-copied-tables-');
    const path = `${temp.dir}/vega.db`;
    try {
      await (await PersistenceModule.open({ type: 'sqlite', path })).destroy();
      const tables = await queryDb<{ name: string }>(
        path,
        `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'conversations_fts%' AND name NOT IN ('migrations', 'usage_daily') ORDER BY name`,
      );
      expect(COPIED_TABLES.map((table) => table.name).sort()).toEqual(tables.map((table) => table.name));
      for (const table of COPIED_TABLES) {
        const columns = await queryDb<{ name: string }>(path, `SELECT name FROM pragma_table_info(?) ORDER BY name`, [table.name]);
        expect({ table: table.name, columns: table.columns.map(([name]) => name).sort() }).toEqual({ table: table.name, columns: columns.map((c) => c.name) });
      }
    } finally {
      temp.remove();
    }
  });
});
