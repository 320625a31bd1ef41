import { Module } from '@nestjs/common';
import { createReadStream, type ReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { CommandRunner, Option, SubCommand } from 'nest-commander';
import { ConversationHistoryRepository } from '../../core/persistence/conversation-history.repository';
import { PersistenceModule } from '../../core/persistence/persistence.module';
import { AdminModule } from '../../modules/admin/admin.module';
import { AdminService } from '../../modules/admin/admin.service';
import { DatabaseAdminService } from '../../modules/admin/database-admin.service';
import { HistoryModule } from '../../modules/history/history.module';
import { HistoryService } from '../../modules/history/history.service';
import { toHistoryItemDto } from '../../modules/history/conversation.mapper';
import { toExchangeDto } from '../../modules/history/stored-exchange.mapper';
import { commandMeta, optionMeta } from '../catalogue';
import { openOutput } from '../output/out-file';
import { formatBytes, Output } from '../output/output';
import { ProgressBar } from '../output/progress';
import { printConversationTable } from './conversation-views';
import { dbRootCommand } from './db-root.command';
import { parseInteger, parseText } from './option-parsers';

type JsonOption = { json?: boolean };

@SubCommand(commandMeta('db', 'backup'))
export class DbBackupCommand extends CommandRunner {
  private readonly out = new Output();

  constructor(private readonly admin: DatabaseAdminService) {
    super();
  }

  async run(_args: string[], options: JsonOption): Promise<void> {
    const backup = await this.admin.backup();
    if (options.json) this.out.json({ path: backup.path, size_bytes: backup.sizeBytes, created_at: backup.createdAt.toISOString() });
    else this.out.line(`${backup.path} (${formatBytes(backup.sizeBytes)})`);
  }

  @Option(optionMeta(['db', 'backup'], '--json'))
  parseJson(): boolean {
    return true;
  }
}

@SubCommand(commandMeta('db', 'vacuum'))
export class DbVacuumCommand extends CommandRunner {
  private readonly out = new Output();

  constructor(private readonly admin: DatabaseAdminService) {
    super();
  }

  async run(_args: string[], options: JsonOption): Promise<void> {
    const result = await this.admin.vacuum();
    if (options.json) this.out.json({ size_before_bytes: result.sizeBeforeBytes, size_after_bytes: result.sizeAfterBytes });
    else this.out.line(`${formatBytes(result.sizeBeforeBytes)} → ${formatBytes(result.sizeAfterBytes)}`);
  }

  @Option(optionMeta(['db', 'vacuum'], '--json'))
  parseJson(): boolean {
    return true;
  }
}

/** Every conversation in full as JSON Lines (the API's `GET /admin/export` shape), newest first. */
@SubCommand(commandMeta('db', 'export'))
export class DbExportCommand extends CommandRunner {
  private readonly out = new Output();

  constructor(
    private readonly history: HistoryService,
    private readonly conversations: ConversationHistoryRepository,
  ) {
    super();
  }

  async run(_args: string[], options: { out?: string }): Promise<void> {
    // Opened first: an existing --out is refused before the database is read.
    const output = await openOutput(options.out);
    const bar = options.out ? new ProgressBar('exporting', await this.conversations.count()) : undefined;
    let count = 0;
    try {
      for await (const row of this.history.exportExchanges({})) {
        await output.sink.write(JSON.stringify(toExchangeDto(row)));
        count += 1;
        bar?.update(count);
      }
    } finally {
      bar?.finish();
      await output.close();
    }
    if (options.out) this.out.note(`${count} conversation(s) written to ${options.out}`);
  }

  @Option(optionMeta(['db', 'export'], '--out'))
  parseOut(value: string): string {
    return parseText(value, '--out');
  }
}

@SubCommand(commandMeta('db', 'import'))
export class DbImportCommand extends CommandRunner {
  private readonly out = new Output();

  constructor(private readonly admin: DatabaseAdminService) {
    super();
  }

  async run([file]: string[], options: JsonOption): Promise<void> {
    const fromStdin = file === '-';
    const input = fromStdin ? process.stdin : createReadStream(file);
    if (!fromStdin) await once(input, 'open');
    // From a file, progress is by bytes read; from stdin, by rows (the size is not known).
    const bar = fromStdin ? new ProgressBar('importing', 0) : new ProgressBar('importing', (await stat(file)).size, formatBytes);
    const lines = createInterface({ input, crlfDelay: Infinity });
    try {
      const result = await this.admin.importConversations(lines, (imported) =>
        bar.update(fromStdin ? imported : (input as ReadStream).bytesRead),
      );
      bar.finish();
      if (options.json) this.out.json({ imported: result.imported });
      else this.out.line(`${result.imported} conversation(s) imported`);
    } finally {
      bar.finish();
      lines.close();
      if (!fromStdin) (input as ReadStream).destroy();
    }
  }

  @Option(optionMeta(['db', 'import'], '--json'))
  parseJson(): boolean {
    return true;
  }
}

@SubCommand(commandMeta('db', 'purge'))
export class DbPurgeCommand extends CommandRunner {
  private readonly out = new Output();

  constructor(private readonly admin: DatabaseAdminService) {
    super();
  }

  async run([days]: string[], options: JsonOption): Promise<void> {
    const result = await this.admin.purgeOlderThan(parseInteger(days, 'DAYS', 1, 36500));
    if (options.json) this.out.json({ deleted: result.deleted, before: result.before.toISOString() });
    else this.out.line(`${result.deleted} conversation(s) older than ${result.before.toISOString()} deleted`);
  }

  @Option(optionMeta(['db', 'purge'], '--json'))
  parseJson(): boolean {
    return true;
  }
}

@SubCommand(commandMeta('db', 'search'))
export class DbSearchCommand extends CommandRunner {
  private readonly out = new Output();

  constructor(private readonly history: HistoryService) {
    super();
  }

  async run(words: string[], options: JsonOption & { limit?: number }): Promise<void> {
    const page = await this.history.page({ q: parseText(words.join(' '), 'the query') }, { limit: options.limit ?? 20 }, 'relevance');
    if (options.json) {
      this.out.json({ items: page.items.map(toHistoryItemDto), next_cursor: page.nextCursor });
      return;
    }
    if (page.items.length === 0) this.out.note('No matches.');
    else printConversationTable(this.out, page.items);
  }

  @Option(optionMeta(['db', 'search'], '--limit'))
  parseLimit(value: string): number {
    return parseInteger(value, '--limit', 1, 500);
  }

  @Option(optionMeta(['db', 'search'], '--json'))
  parseJson(): boolean {
    return true;
  }
}

@SubCommand(commandMeta('db', 'stats'))
export class DbStatsCommand extends CommandRunner {
  private readonly out = new Output();

  constructor(private readonly admin: AdminService) {
    super();
  }

  async run(_args: string[], options: JsonOption): Promise<void> {
    const { database } = await this.admin.status();
    if (options.json) {
      this.out.json(database);
      return;
    }
    const rows: [string, string][] = [
      ['path', database.path],
      ['size', formatBytes(database.size_bytes)],
      ['wal', formatBytes(database.wal_bytes)],
      ['conversations', database.conversations.toLocaleString('en-US')],
    ];
    for (const [name, value] of rows) this.out.line(`${this.out.colour.dim(name.padEnd(13))}  ${value}`);
  }

  @Option(optionMeta(['db', 'stats'], '--json'))
  parseJson(): boolean {
    return true;
  }
}

const SUBCOMMANDS = [DbBackupCommand, DbVacuumCommand, DbExportCommand, DbImportCommand, DbPurgeCommand, DbSearchCommand, DbStatsCommand];

@Module({ imports: [AdminModule, HistoryModule, PersistenceModule], providers: [dbRootCommand(SUBCOMMANDS), ...SUBCOMMANDS] })
export class DbCommandModule {}
