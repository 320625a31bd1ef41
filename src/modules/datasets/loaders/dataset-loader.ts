import type { DatasetExample, FileSkipReason, RecordSkipReason } from '../dataset-example';

/** What a loader yields, in file order: an example, or a record it left out and why. `where` locates it in the file ("line 14"). */
export type LoadItem =
  | { kind: 'record'; example: DatasetExample; where: string }
  | { kind: 'skip'; reason: RecordSkipReason; where: string; detail: string };

/** Thrown by a loader when the whole file is unusable (a CSV without the needed columns, a JSON file that is not JSON). */
export class FileSkipError extends Error {
  override readonly name = 'FileSkipError';
  constructor(
    readonly reason: FileSkipReason,
    message: string,
  ) {
    super(message);
  }
}

/**
 * One file format. A loader reads its file as a stream where the format allows (memory stays
 * flat on large inputs), never throws for a bad record (it yields a `skip`), and throws
 * `FileSkipError` only when nothing in the file can be used. A new format is one new file
 * implementing this, listed in `loaders/index.ts`.
 */
export interface DatasetLoader {
  /** Lower-case extensions with the dot, e.g. `.jsonl`. */
  readonly extensions: readonly string[];
  load(path: string): AsyncIterable<LoadItem>;
}
