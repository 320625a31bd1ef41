import { formatExample } from './dataset-formats';
import type { DatasetFormat } from './dataset-example';
import { walkDatasetDir, type WalkResult } from './dataset-walk';
import type { LineSink } from './line-sink';
import { DATASET_LOADERS, loaderFor } from './loaders/index';
import { FileSkipError, type DatasetLoader } from './loaders/dataset-loader';
import { SkipGroup, SkipTally } from './skip-tally';

export interface BuildProgress {
  filesDone: number;
  filesTotal: number;
  recordsWritten: number;
}

export interface BuildRequest {
  dir: string;
  format: DatasetFormat;
  sink: LineSink;
  /** Absolute paths the walk leaves out (the output file). */
  exclude?: ReadonlySet<string>;
  onProgress?: (progress: BuildProgress) => void;
  loaders?: readonly DatasetLoader[];
}

/** What `vega dataset build` reports (`--json` prints it as is). */
export interface BuildSummary {
  format: DatasetFormat;
  files_read: number;
  records_written: number;
  records_skipped: number;
  files_skipped: number;
  skipped_records: SkipGroup[];
  skipped_files: SkipGroup[];
}

/**
 * Reads every supported file under `dir` with its loader and writes each example as JSONL in
 * `format`, one file and one record at a time (memory stays flat on large inputs). A bad
 * record or file is counted by reason and never stops the build. A file that yields neither
 * a record nor a skipped record (an empty file, a text without Q/A pairs) is skipped as `no-records`.
 */
export async function buildDataset(request: BuildRequest): Promise<BuildSummary> {
  const loaders = request.loaders ?? DATASET_LOADERS;
  const walk = await walkDatasetDir(request.dir, (extension) => loaderFor(extension, loaders), request.exclude);
  return writeExamples(walk, request);
}

/** The same, for files already listed (`vega train` with one dataset file). */
export async function writeExamples(walk: WalkResult, request: Pick<BuildRequest, 'format' | 'sink' | 'onProgress'>): Promise<BuildSummary> {
  const records = new SkipTally();
  const files = new SkipTally();
  for (const skipped of walk.skipped) files.add(skipped.reason, skipped.name);
  let filesRead = 0;
  let written = 0;
  let filesDone = 0;
  const report = () => request.onProgress?.({ filesDone, filesTotal: walk.files.length, recordsWritten: written });

  for (const file of walk.files) {
    let seen = 0;
    try {
      for await (const item of file.loader.load(file.path)) {
        seen += 1;
        if (item.kind === 'skip') {
          records.add(item.reason, `${file.name}: ${item.where} — ${item.detail}`);
          continue;
        }
        for (const line of formatExample(item.example, request.format)) {
          await request.sink.write(JSON.stringify(line));
          written += 1;
        }
        if (written % 1000 === 0) report();
      }
      if (seen === 0) files.add('no-records', file.name);
      else filesRead += 1;
    } catch (error) {
      // Records already written from this file stay; the file is reported with what went wrong.
      if (error instanceof FileSkipError) files.add(error.reason, `${file.name} — ${error.message}`);
      else files.add('unreadable', `${file.name} — ${(error as Error).message}`);
    }
    filesDone += 1;
    report();
  }
  return {
    format: request.format,
    files_read: filesRead,
    records_written: written,
    records_skipped: records.total,
    files_skipped: files.total,
    skipped_records: records.list(),
    skipped_files: files.list(),
  };
}
