import type { Provider } from '@nestjs/common';
import { usesDatabase } from '../../src/app/cli-app.module';
import { DbCheckCommandModule } from '../../src/cli/commands/db-check.command';
import { HistoryCommandsModule } from '../../src/cli/commands/history.commands';
import { KeysCommandsModule } from '../../src/cli/commands/keys.commands';
import { NetCommandsModule } from '../../src/cli/commands/net.commands';
import { UsageCommandModule } from '../../src/cli/commands/usage.command';
import { PERSISTENCE_PORTS, PersistenceModule } from '../../src/core/persistence/persistence.module';
import { SQLITE_DIALECT } from '../../src/core/persistence/sqlite/sqlite.dialect';
import { POSTGRES_DIALECT } from '../../src/core/persistence/postgres/postgres.dialect';

const provided = (providers: Provider[]) => providers.map((provider) => (typeof provider === 'function' ? provider : provider.provide));

describe(PersistenceModule.name, () => {
  describe('forRoot', () => {
    it('binds every persistence port to an adapter of the dialect the settings name', () => {
      const module = PersistenceModule.forRoot({ type: 'sqlite', path: ':memory:', busyTimeoutMs: 1, writeWaitMs: 1, spoolPath: '/dev/null', migrationsRun: true });
      expect(module.global).toBe(true);
      expect(provided(module.providers ?? [])).toEqual(expect.arrayContaining([...PERSISTENCE_PORTS]));
      expect(module.exports).toEqual(expect.arrayContaining([...PERSISTENCE_PORTS]));
    });
  });

  it.each([
    ['sqlite', SQLITE_DIALECT],
    ['postgres', POSTGRES_DIALECT],
  ])('the %s dialect binds each port exactly once', (_name, dialect) => {
    const ports = provided(dialect.adapters).filter((token) => PERSISTENCE_PORTS.includes(token as never));
    expect(ports).toHaveLength(PERSISTENCE_PORTS.length);
    expect(new Set(ports).size).toBe(PERSISTENCE_PORTS.length);
  });
});

describe(usesDatabase.name, () => {
  it.each([
    ['history', true, HistoryCommandsModule],
    ['usage', true, UsageCommandModule],
    ['keys', true, KeysCommandsModule],
    ['net', false, NetCommandsModule],
    ['db check', false, DbCheckCommandModule],
  ])('vega %s opens the database: %s', (_command, expected, module) => {
    expect(usesDatabase(module)).toBe(expected);
  });
});
