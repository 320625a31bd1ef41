import { Option, SubCommand, CommandRunner } from 'nest-commander';
import { CurateService, type CurateSummary } from '../../modules/datasets/curate.service';
import type { DatasetFormat } from '../../modules/datasets/dataset-example';
import { parseIsoUtc } from '../../modules/history/iso-date';
import { commandMeta, optionMeta } from '../catalogue';
import { UsageError } from '../cli-errors';
import { paletteFor } from '../output/colour';
import { openOutput } from '../output/out-file';
import { ProgressBar } from '../output/progress';
import { renderTable } from '../output/table';
import { parseDatasetFormat } from './dataset.command';
import { parseInteger, parseText } from './option-parsers';

const CURATE = ['learn', 'curate'];

interface CurateOptions {
  minRating?: number;
  reviewedOnly?: boolean;
  since?: Date;
  tags?: string[];
  out?: string;
  format?: DatasetFormat;
  json?: boolean;
}

/**
 * `vega learn curate`: the stored exchanges as a training set (see `CurateService`). Records go
 * to --out (or stdout); the summary goes to stdout with --out, else to stderr so it never mixes
 * with the records.
 */
@SubCommand(commandMeta(...CURATE))
export class LearnCurateCommand extends CommandRunner {
  constructor(private readonly curate: CurateService) {
    super();
  }

  async run(_args: string[], options: CurateOptions): Promise<void> {
    const query = { minRating: options.minRating, reviewed: options.reviewedOnly ? true : undefined, since: options.since, tags: options.tags };
    // Built (and its filters checked) before --out is created: a refused filter leaves no empty file behind.
    const bar = new ProgressBar('reading conversations', 0);
    const dataset = this.curate.curate(query, options.format ?? 'prompt-response', (read) => bar.update(read));
    const output = await openOutput(options.out);
    try {
      for await (const line of dataset.lines) await output.sink.write(line);
    } finally {
      bar.finish();
      await output.close();
    }
    const summary = dataset.summary();
    const stream = options.out ? process.stdout : process.stderr;
    stream.write(options.json ? `${JSON.stringify({ out: options.out ?? null, ...summary }, null, 2)}\n` : renderCurateSummary(summary, stream));
  }

  @Option(optionMeta(CURATE, '--min-rating'))
  parseMinRating(value: string): number {
    return parseInteger(value, '--min-rating', 1, 5);
  }

  @Option(optionMeta(CURATE, '--reviewed-only'))
  parseReviewedOnly(): boolean {
    return true;
  }

  @Option(optionMeta(CURATE, '--since'))
  parseSince(value: string): Date {
    const date = parseIsoUtc(value.trim());
    if (!date || Number.isNaN(date.getTime())) {
      throw new UsageError(`--since must be an ISO 8601 date or date-time, e.g. 2026-11-01 or 2026-11-01T12:00:00Z (got "${value}")`);
    }
    return date;
  }

  @Option(optionMeta(CURATE, '--tags'))
  parseTags(value: string): string[] {
    const tags = value.split(',').map((tag) => tag.trim()).filter((tag) => tag !== '');
    if (tags.length === 0) throw new UsageError(`--tags must name at least one tag, e.g. good,concise (got "${value}")`);
    return tags;
  }

  @Option(optionMeta(CURATE, '--out'))
  parseOut(value: string): string {
    return parseText(value, '--out');
  }

  @Option(optionMeta(CURATE, '--format'))
  parseFormat(value: string): DatasetFormat {
    return parseDatasetFormat(value);
  }

  @Option(optionMeta(CURATE, '--json'))
  parseJson(): boolean {
    return true;
  }
}

/** The counts, each skip reason with the first conversation ids, then what was masked. */
export function renderCurateSummary(summary: CurateSummary, stream: NodeJS.WriteStream): string {
  const colour = paletteFor(stream);
  const masked = Object.entries(summary.pii_masked).sort(([a], [b]) => a.localeCompare(b));
  type Row = { what: string; count: number; where: string };
  const rows: Row[] = [
    { what: 'rows read', count: summary.rows_read, where: '' },
    { what: 'records written', count: summary.records_written, where: '' },
    { what: 'rows skipped', count: summary.rows_skipped, where: '' },
    ...summary.skipped_rows.map((group) => ({ what: `- ${group.reason}`, count: group.count, where: group.examples.join(', ') })),
    { what: 'pii masked', count: masked.reduce((sum, [, count]) => sum + count, 0), where: '' },
    ...masked.map(([kind, count]) => ({ what: `- ${kind}`, count, where: '' })),
  ];
  return renderTable(
    rows,
    [
      { header: 'what', value: (row) => row.what },
      { header: 'count', value: (row) => row.count.toLocaleString('en-US'), align: 'right' },
      { header: 'conversations (first ones)', value: (row) => row.where, flex: true },
    ],
    { width: stream.isTTY ? stream.columns || 80 : undefined, header: colour.dim },
  ).replace(/ +$/gm, '');
}
