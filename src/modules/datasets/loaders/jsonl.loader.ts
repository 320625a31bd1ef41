import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { recogniseRecord } from '../record-shapes';
import { DatasetLoader, LoadItem } from './dataset-loader';

/** JSON Lines: one record per line, read line by line; blank lines are ignored. */
export class JsonlLoader implements DatasetLoader {
  readonly extensions = ['.jsonl', '.ndjson'];

  async *load(path: string): AsyncIterable<LoadItem> {
    const lines = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
    let number = 0;
    try {
      for await (const raw of lines) {
        number += 1;
        const line = number === 1 ? raw.replace(/^\uFEFF/, '') : raw;
        if (line.trim() === '') continue;
        const where = `line ${number}`;
        let value: unknown;
        try {
          value = JSON.parse(line);
        } catch (error) {
          yield { kind: 'skip', reason: 'invalid-json', where, detail: (error as Error).message };
          continue;
        }
        const recognised = recogniseRecord(value);
        yield recognised.ok ? { kind: 'record', example: recognised.example, where } : { kind: 'skip', where, reason: recognised.reason, detail: recognised.detail };
      }
    } finally {
      lines.close();
    }
  }
}
