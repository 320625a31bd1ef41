import { Module } from '@nestjs/common';
import { CommandRunner, Option, SubCommand } from 'nest-commander';
import { parseDatabaseUrl, type DatabaseLocation } from '../../config/database-url';
import type { CopyEndpoint } from '../../core/persistence/copy/copy-endpoint';
import { copyDatabase, CopyMismatchError, type CopyProgress, CopyRefusedError } from '../../core/persistence/copy/database-copy';
import { openCopyEndpoint } from '../../core/persistence/copy/open-copy-endpoint';
import { commandMeta, optionMeta } from '../catalogue';
import { dbRootCommand } from './db-root.command';
import { CommandFailedError, UsageError } from '../cli-errors';
import { Output } from '../output/output';
import { ProgressBar } from '../output/progress';
import { parseInteger } from './option-parsers';

interface CopyOptions {
  from?: DatabaseLocation;
  to?: DatabaseLocation;
  batchSize?: number;
  json?: boolean;
}

/** What the target does about `usage_daily`, which is not copied. */
const USAGE_ROLLUP = "rebuilt by the target's triggers";

/**
 * `vega db copy`: loaded on its own (`command-modules.ts`), without the persistence module —
 * it opens the two databases it is given, not DATABASE_URL's.
 */
@SubCommand(commandMeta('db', 'copy'))
export class DbCopyCommand extends CommandRunner {
  private readonly out = new Output();

  async run(_args: string[], options: CopyOptions): Promise<void> {
    const { from, to } = options;
    if (!from || !to) throw new UsageError('vega db copy: give --from and --to (sqlite:<path> or postgres://…)');
    if (JSON.stringify(from) === JSON.stringify(to)) throw new UsageError('vega db copy: --from and --to name the same database');
    const started = Date.now();
    const progress = new CopyProgressBars();
    let source: CopyEndpoint | undefined;
    let target: CopyEndpoint | undefined;
    try {
      source = await openCopyEndpoint(from, 'source');
      target = await openCopyEndpoint(to, 'target');
      const tables = await copyDatabase(source, target, { batchSize: options.batchSize ?? 500, onProgress: (p) => progress.update(p) });
      progress.finish();
      if (options.json) {
        this.out.json({
          from: source.label,
          to: target.label,
          tables: tables.map((t) => ({
            table: t.table,
            source_rows: t.sourceRows,
            resumed_after: t.resumedAfter,
            copied: t.copied,
            target_rows: t.targetRows,
            checksum: t.checksum,
          })),
          usage_daily: USAGE_ROLLUP,
          verified: true,
          duration_ms: Date.now() - started,
        });
        return;
      }
      const c = this.out.colour;
      this.out.line(c.dim(`${source.label} → ${target.label}`));
      for (const t of tables) {
        const resumed = t.resumedAfter > 0 ? `, ${t.resumedAfter.toLocaleString('en-US')} there already` : '';
        this.out.line(`${c.green('ok')}  ${t.table.padEnd(14)} ${t.targetRows.toLocaleString('en-US').padStart(10)} row(s), ${t.copied.toLocaleString('en-US')} copied${resumed}  ${c.dim(`md5 ${t.checksum}`)}`);
      }
      this.out.line(`${c.green('ok')}  ${'usage_daily'.padEnd(14)} ${USAGE_ROLLUP}`);
    } catch (error) {
      if (error instanceof CopyRefusedError) throw new UsageError(`vega db copy: ${error.message}`);
      if (error instanceof CopyMismatchError) throw new CommandFailedError(`vega db copy: ${error.message}`);
      throw error;
    } finally {
      progress.finish();
      await Promise.all([source?.close(), target?.close()]);
    }
  }

  @Option(optionMeta(['db', 'copy'], '--from'))
  parseFrom(value: string): DatabaseLocation {
    return parseLocation(value, '--from');
  }

  @Option(optionMeta(['db', 'copy'], '--to'))
  parseTo(value: string): DatabaseLocation {
    return parseLocation(value, '--to');
  }

  @Option(optionMeta(['db', 'copy'], '--batch-size'))
  parseBatchSize(value: string): number {
    return parseInteger(value, '--batch-size', 1, 10_000);
  }

  @Option(optionMeta(['db', 'copy'], '--json'))
  parseJson(): boolean {
    return true;
  }
}

function parseLocation(value: string, flag: string): DatabaseLocation {
  const location = parseDatabaseUrl(value.trim());
  if (!location || (location.type === 'sqlite' && value.trim() === 'sqlite:')) {
    throw new UsageError(`${flag} must be sqlite:<path> or postgres://user:password@host:port/database`);
  }
  return location;
}

/** One bar per phase on a terminal: copying, then verifying. */
class CopyProgressBars {
  private bar?: ProgressBar;
  private phase?: CopyProgress['phase'];

  update(progress: CopyProgress): void {
    if (progress.phase !== this.phase) {
      this.bar?.finish();
      this.phase = progress.phase;
      this.bar = new ProgressBar(progress.phase === 'copy' ? 'copying' : 'verifying', progress.total);
    }
    this.bar?.update(progress.done, progress.done === progress.total);
  }

  finish(): void {
    this.bar?.finish();
  }
}


@Module({ providers: [dbRootCommand([DbCopyCommand]), DbCopyCommand] })
export class DbCopyCommandModule {}
