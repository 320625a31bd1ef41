import { Module } from '@nestjs/common';
import { Command, CommandRunner, Option } from 'nest-commander';
import type { UsageDimension } from '../../core/persistence/usage.repository';
import { toUsageReportDto, type UsageFiguresDto, type UsageGroupDto, type UsageReportDto } from '../../modules/usage/dto/usage.dto';
import { UsageModule } from '../../modules/usage/usage.module';
import { parseGroupBy, parseUsageTime, UsageService } from '../../modules/usage/usage.service';
import { commandMeta, optionMeta } from '../catalogue';
import { Output } from '../output/output';
import { type Column, renderTable } from '../output/table';

const USAGE = ['usage'];

interface UsageOptions {
  from?: string;
  to?: string;
  by?: string;
  json?: boolean;
  csv?: boolean;
}

type Line = Partial<UsageGroupDto> & UsageFiguresDto & { total?: boolean };

/** The text of each dimension's cell, and its CSV columns. */
const DIMENSIONS: Record<UsageDimension, { header: string; cell: (row: Line) => string; csv: (keyof UsageGroupDto)[] }> = {
  key: { header: 'KEY', cell: (row) => row.key_name ?? '(no key)', csv: ['key_id', 'key_name'] },
  model: { header: 'MODEL', cell: (row) => row.model ?? '-', csv: ['model'] },
  day: { header: 'DAY (UTC)', cell: (row) => row.day ?? '', csv: ['day'] },
  lane: { header: 'LANE', cell: (row) => row.lane ?? '', csv: ['lane'] },
};
const FIGURES: (keyof UsageFiguresDto)[] = ['requests', 'prompt_tokens', 'completion_tokens', 'tokens', 'model_seconds', 'errors', 'p50_ms', 'p95_ms'];

/** `vega usage`: the report of `GET /admin/usage`, read from the database, as a table, JSON or CSV. */
@Command(commandMeta(...USAGE))
export class UsageCommand extends CommandRunner {
  private readonly out = new Output();

  constructor(private readonly usage: UsageService) {
    super();
  }

  async run(_args: string[], options: UsageOptions): Promise<void> {
    const report = toUsageReportDto(await this.usage.report({ from: options.from, to: options.to, groupBy: options.by }));
    if (options.json) this.out.json(report);
    else if (options.csv) this.out.write(toCsv(report));
    else this.table(report);
  }

  private table(report: UsageReportDto): void {
    const c = this.out.colour;
    this.out.note(`Usage ${report.from} → ${report.to} (the end excluded)`);
    const count = (value: number) => value.toLocaleString('en');
    const ms = (value: number | null) => (value === null ? '-' : count(value));
    const columns: Column<Line>[] = [
      ...report.group_by.map((dimension, index): Column<Line> => ({
        header: DIMENSIONS[dimension].header,
        value: (row) => (row.total ? (index === 0 ? 'TOTAL' : '') : DIMENSIONS[dimension].cell(row)),
      })),
      { header: 'REQUESTS', value: (row) => count(row.requests), align: 'right' },
      { header: 'PROMPT', value: (row) => count(row.prompt_tokens), align: 'right' },
      { header: 'COMPLETION', value: (row) => count(row.completion_tokens), align: 'right' },
      { header: 'TOKENS', value: (row) => count(row.tokens), align: 'right' },
      { header: 'MODEL S', value: (row) => row.model_seconds.toFixed(1), align: 'right' },
      { header: 'ERRORS', value: (row) => (row.errors > 0 ? c.yellow(count(row.errors)) : '0'), align: 'right' },
      { header: 'P50 MS', value: (row) => ms(row.p50_ms), align: 'right' },
      { header: 'P95 MS', value: (row) => ms(row.p95_ms), align: 'right' },
    ];
    if (report.groups.length === 0) {
      this.out.note('No exchanges in this range.');
      return;
    }
    this.out.write(renderTable<Line>([...report.groups, { ...report.totals, total: true }], columns, { width: this.out.width, header: c.dim }));
  }

  @Option(optionMeta(USAGE, '--from'))
  parseFrom(value: string): string {
    parseUsageTime(value, '--from');
    return value;
  }

  @Option(optionMeta(USAGE, '--to'))
  parseTo(value: string): string {
    parseUsageTime(value, '--to');
    return value;
  }

  @Option(optionMeta(USAGE, '--by'))
  parseBy(value: string): string {
    parseGroupBy(value, '--by');
    return value;
  }

  @Option(optionMeta(USAGE, '--json'))
  parseJson(): boolean {
    return true;
  }

  @Option(optionMeta(USAGE, '--csv'))
  parseCsv(): boolean {
    return true;
  }
}

/** RFC 4180: a header row, then one row per group; a field with a comma, quote or line break is quoted. */
export function toCsv(report: UsageReportDto): string {
  const columns = [...report.group_by.flatMap((dimension) => DIMENSIONS[dimension].csv), ...FIGURES];
  const field = (value: unknown) => {
    const text = value === null || value === undefined ? '' : String(value);
    return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
  };
  const rows = report.groups.map((group) => columns.map((column) => field(group[column])).join(','));
  return [columns.join(','), ...rows].join('\r\n') + '\r\n';
}

@Module({ imports: [UsageModule], providers: [UsageCommand] })
export class UsageCommandModule {}
