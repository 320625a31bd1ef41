import { Module } from '@nestjs/common';
import { resolve } from 'node:path';
import { Command, CommandRunner, Option, SubCommand } from 'nest-commander';
import type { BuildSummary } from '../../modules/datasets/dataset-builder';
import { DatasetBuildService } from '../../modules/datasets/dataset-build.service';
import { DATASET_FORMATS } from '../../modules/datasets/dataset-example';
import type { DatasetFormat } from '../../modules/datasets/dataset-example';
import { DatasetsModule } from '../../modules/datasets/datasets.module';
import { commandMeta, optionMeta } from '../catalogue';
import { UsageError } from '../cli-errors';
import { paletteFor } from '../output/colour';
import { openOutput } from '../output/out-file';
import { ProgressBar } from '../output/progress';
import { renderTable } from '../output/table';
import { parseText } from './option-parsers';

const BUILD = ['dataset', 'build'];

interface BuildOptions {
  out?: string;
  format?: DatasetFormat;
  json?: boolean;
}

/** `--format`: one of the dataset formats. */
export function parseDatasetFormat(value: string): DatasetFormat {
  if (!(DATASET_FORMATS as readonly string[]).includes(value)) throw new UsageError(`--format must be one of ${DATASET_FORMATS.join(', ')} (got "${value}")`);
  return value as DatasetFormat;
}

/**
 * `vega dataset build DIR`: every supported file under DIR → one JSONL dataset. The records go
 * to --out (or stdout); the summary goes to stdout with --out, else to stderr so it never
 * mixes with the records.
 */
@SubCommand(commandMeta(...BUILD))
export class DatasetBuildCommand extends CommandRunner {
  constructor(private readonly datasets: DatasetBuildService) {
    super();
  }

  async run([dir]: string[], options: BuildOptions): Promise<void> {
    const output = await openOutput(options.out);
    let bar: ProgressBar | undefined;
    let summary: BuildSummary;
    try {
      summary = await this.datasets.build(dir, options.format ?? 'prompt-response', output.sink, {
        outPath: options.out ? resolve(options.out) : undefined,
        onProgress: (progress) => {
          bar ??= new ProgressBar('reading files', progress.filesTotal);
          bar.update(progress.filesDone, progress.filesDone === progress.filesTotal);
        },
      });
    } finally {
      bar?.finish();
      await output.close();
    }
    const stream = options.out ? process.stdout : process.stderr;
    stream.write(options.json ? `${JSON.stringify({ out: options.out ?? null, ...summary }, null, 2)}\n` : renderBuildSummary(summary, stream));
  }

  @Option(optionMeta(BUILD, '--out'))
  parseOut(value: string): string {
    return parseText(value, '--out');
  }

  @Option(optionMeta(BUILD, '--format'))
  parseFormat(value: string): DatasetFormat {
    return parseDatasetFormat(value);
  }

  @Option(optionMeta(BUILD, '--json'))
  parseJson(): boolean {
    return true;
  }
}

/** The counts, then each skip reason with its count and the first places it happened. */
export function renderBuildSummary(summary: BuildSummary, stream: NodeJS.WriteStream): string {
  const colour = paletteFor(stream);
  type Row = { what: string; count: number; where: string };
  const rows: Row[] = [
    { what: 'files read', count: summary.files_read, where: '' },
    { what: 'records written', count: summary.records_written, where: '' },
    { what: 'records skipped', count: summary.records_skipped, where: '' },
    ...summary.skipped_records.map((group) => ({ what: `- ${group.reason}`, count: group.count, where: group.examples.join('; ') })),
    { what: 'files skipped', count: summary.files_skipped, where: '' },
    ...summary.skipped_files.map((group) => ({ what: `- ${group.reason}`, count: group.count, where: group.examples.join('; ') })),
  ];
  return renderTable(
    rows,
    [
      { header: 'what', value: (row) => row.what },
      { header: 'count', value: (row) => row.count.toLocaleString('en-US'), align: 'right' },
      { header: 'where (first ones)', value: (row) => row.where, flex: true },
    ],
    { width: stream.isTTY ? stream.columns || 80 : undefined, header: colour.dim },
  ).replace(/ +$/gm, '');
}

@Command({ ...commandMeta('dataset'), subCommands: [DatasetBuildCommand] })
export class DatasetCommand extends CommandRunner {
  async run(): Promise<void> {
    throw new UsageError('vega dataset: give a command: build');
  }
}

@Module({ imports: [DatasetsModule], providers: [DatasetCommand, DatasetBuildCommand] })
export class DatasetCommandModule {}
