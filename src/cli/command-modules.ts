import type { Type } from '@nestjs/common';

/**
 * The Nest module of each top-level command (or of one subcommand, keyed `'db check'`), loaded only when that command runs: a command
 * pays for the features it uses and nothing else. `require` (not `import()`) keeps these
 * CommonJS loads synchronous and out of the ES module loader.
 */
export const COMMAND_MODULES: Readonly<Record<string, () => Type<unknown>>> = {
  serve: () => (require('./commands/serve.command') as typeof import('./commands/serve.command')).ServeCommandModule,
  chat: () => (require('./commands/chat.command') as typeof import('./commands/chat.command')).ChatCommandModule,
  repl: () => (require('./commands/repl.command') as typeof import('./commands/repl.command')).ReplCommandModule,
  history: () => (require('./commands/history.commands') as typeof import('./commands/history.commands')).HistoryCommandsModule,
  session: () => (require('./commands/history.commands') as typeof import('./commands/history.commands')).HistoryCommandsModule,
  feedback: () => (require('./commands/history.commands') as typeof import('./commands/history.commands')).HistoryCommandsModule,
  search: () => (require('./commands/search.commands') as typeof import('./commands/search.commands')).SearchCommandsModule,
  osint: () => (require('./commands/osint.commands') as typeof import('./commands/osint.commands')).OsintCommandsModule,
  net: () => (require('./commands/net.commands') as typeof import('./commands/net.commands')).NetCommandsModule,
  gen: () => (require('./commands/gen.command') as typeof import('./commands/gen.command')).GenCommandModule,
  db: () => (require('./commands/db.command') as typeof import('./commands/db.command')).DbCommandModule,
  // Without the persistence module: a file too damaged for TypeORM to open is still examined.
  'db check': () => (require('./commands/db-check.command') as typeof import('./commands/db-check.command')).DbCheckCommandModule,
  'db migrate': () => (require('./commands/db-migrate.command') as typeof import('./commands/db-migrate.command')).DbMigrateCommandModule,
  // Opens the two databases it is given, not DATABASE_URL's.
  'db copy': () => (require('./commands/db-copy.command') as typeof import('./commands/db-copy.command')).DbCopyCommandModule,
  backends: () => (require('./commands/backends.commands') as typeof import('./commands/backends.commands')).BackendsCommandsModule,
  health: () => (require('./commands/health.command') as typeof import('./commands/health.command')).HealthCommandModule,
  dataset: () => (require('./commands/dataset.command') as typeof import('./commands/dataset.command')).DatasetCommandModule,
  train: () => (require('./commands/train.commands') as typeof import('./commands/train.commands')).TrainCommandsModule,
  learn: () => (require('./commands/learn.command') as typeof import('./commands/learn.command')).LearnCommandModule,
  usage: () => (require('./commands/usage.command') as typeof import('./commands/usage.command')).UsageCommandModule,
  admin: () => (require('./commands/admin.commands') as typeof import('./commands/admin.commands')).AdminCommandsModule,
  keys: () => (require('./commands/keys.commands') as typeof import('./commands/keys.commands')).KeysCommandsModule,
  integrations: () =>
    (require('./commands/integrations.command') as typeof import('./commands/integrations.command')).IntegrationsCommandModule,
};
