import { readFile, stat } from 'node:fs/promises';
import { recogniseRecord } from '../record-shapes';
import { DatasetLoader, FileSkipError, LoadItem } from './dataset-loader';

/** A JSON document has to be parsed whole; past this size the file is refused (JSON Lines streams instead). */
export const MAX_JSON_BYTES = 64 * 1024 * 1024;

/** A JSON file holding an array of records, or a single record. */
export class JsonLoader implements DatasetLoader {
  readonly extensions = ['.json'];

  constructor(private readonly maxBytes = MAX_JSON_BYTES) {}

  async *load(path: string): AsyncIterable<LoadItem> {
    const { size } = await stat(path);
    if (size > this.maxBytes) {
      throw new FileSkipError('too-large', `${size} bytes is more than the ${this.maxBytes} a JSON file may have; use JSON Lines (.jsonl) for large data`);
    }
    let document: unknown;
    try {
      document = JSON.parse((await readFile(path, 'utf8')).replace(/^\uFEFF/, ''));
    } catch (error) {
      throw new FileSkipError('invalid-json', (error as Error).message);
    }
    if (typeof document !== 'object' || document === null) throw new FileSkipError('unrecognised-shape', 'expected an array of records or one record object');
    const records = Array.isArray(document) ? document : [document];
    for (const [i, value] of records.entries()) {
      const where = Array.isArray(document) ? `[${i}]` : 'document';
      const recognised = recogniseRecord(value);
      yield recognised.ok ? { kind: 'record', example: recognised.example, where } : { kind: 'skip', where, reason: recognised.reason, detail: recognised.detail };
    }
  }
}
