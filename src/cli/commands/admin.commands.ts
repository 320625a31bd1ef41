import { Module } from '@nestjs/common';
import { Command, CommandRunner, Option, SubCommand } from 'nest-commander';
import { AUDIT_OUTCOMES, type AuditOutcome, type AuditRecord } from '../../core/persistence/audit-log.repository';
import { AuditModule } from '../../modules/audit/audit.module';
import { AuditService } from '../../modules/audit/audit.service';
import { AUDIT_ROUTE_PATTERN, toAuditEntryDto } from '../../modules/audit/dto/audit.dto';
import { parseIsoUtc } from '../../modules/history/iso-date';
import { commandMeta, optionMeta } from '../catalogue';
import { UsageError } from '../cli-errors';
import { Output } from '../output/output';
import { renderTable } from '../output/table';
import { parseInteger, parseText } from './option-parsers';

const AUDIT = ['admin', 'audit'];

interface AuditOptions {
  limit?: number;
  route?: string;
  outcome?: AuditOutcome;
  since?: Date;
  cursor?: string;
  json?: boolean;
}

/** `vega admin audit`: the audit log as a table, or the API's JSON (`GET /admin/audit`). */
@SubCommand(commandMeta(...AUDIT))
export class AdminAuditCommand extends CommandRunner {
  private readonly out = new Output();

  constructor(private readonly audit: AuditService) {
    super();
  }

  async run(_args: string[], options: AuditOptions): Promise<void> {
    const page = await this.audit.page(
      { route: options.route, outcome: options.outcome, since: options.since },
      { limit: options.limit ?? 20, cursor: options.cursor },
    );
    if (options.json) {
      this.out.json({ items: page.items.map(toAuditEntryDto), next_cursor: page.nextCursor });
      return;
    }
    if (page.items.length === 0) {
      this.out.note('No audited calls.');
      return;
    }
    const c = this.out.colour;
    this.out.write(
      renderTable<AuditRecord>(
        page.items,
        [
          { header: 'ID', value: (row) => String(row.id), align: 'right' },
          { header: 'TIME (UTC)', value: (row) => row.at.toISOString().slice(0, 19).replace('T', ' ') },
          { header: 'KEY', value: (row) => row.keyId },
          { header: 'ROUTE', value: (row) => row.route },
          { header: 'MODELS', value: (row) => row.models.join(' → ') || '-' },
          { header: 'OUTCOME', value: (row) => (row.outcome === 'ok' ? row.outcome : c.yellow(row.outcome)) },
          { header: 'STATUS', value: (row) => String(row.status), align: 'right' },
          { header: 'MS', value: (row) => String(row.durationMs), align: 'right' },
          { header: 'DETAIL', value: (row) => row.detail ?? '', flex: true },
        ],
        { width: this.out.width, header: c.dim },
      ),
    );
    if (page.nextCursor) this.out.note(`More: vega admin audit --cursor ${page.nextCursor}`);
  }

  @Option(optionMeta(AUDIT, '--limit'))
  parseLimit(value: string): number {
    return parseInteger(value, '--limit', 1, 500);
  }

  @Option(optionMeta(AUDIT, '--route'))
  parseRoute(value: string): string {
    if (!AUDIT_ROUTE_PATTERN.test(value)) throw new UsageError('--route must be a path such as /api/pull, optionally after its method ("DELETE /api/delete")');
    return value;
  }

  @Option(optionMeta(AUDIT, '--outcome'))
  parseOutcome(value: string): AuditOutcome {
    if (!(AUDIT_OUTCOMES as readonly string[]).includes(value)) throw new UsageError(`--outcome must be one of ${AUDIT_OUTCOMES.join(', ')}`);
    return value as AuditOutcome;
  }

  @Option(optionMeta(AUDIT, '--since'))
  parseSince(value: string): Date {
    const since = parseIsoUtc(value);
    if (since === undefined || Number.isNaN(since.getTime())) throw new UsageError('--since must be an ISO 8601 date or date-time, e.g. 2026-11-01 or 2026-11-01T12:00:00Z');
    return since;
  }

  @Option(optionMeta(AUDIT, '--cursor'))
  parseCursor(value: string): string {
    return parseText(value, '--cursor');
  }

  @Option(optionMeta(AUDIT, '--json'))
  parseJson(): boolean {
    return true;
  }
}

@Command({ ...commandMeta('admin'), subCommands: [AdminAuditCommand] })
export class AdminCommand extends CommandRunner {
  async run(): Promise<void> {
    throw new UsageError('vega admin: give a command: audit');
  }
}

@Module({ imports: [AuditModule], providers: [AdminCommand, AdminAuditCommand] })
export class AdminCommandsModule {}
