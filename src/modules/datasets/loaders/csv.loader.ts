import { parse, type CsvError } from 'csv-parse';
import { createReadStream } from 'node:fs';
import { recogniseRecord } from '../record-shapes';
import { DatasetLoader, FileSkipError, LoadItem } from './dataset-loader';

/** Header names (case and surrounding spaces ignored) that make a CSV file usable: one pair of these columns. */
const COLUMN_PAIRS: [string, string][] = [
  ['prompt', 'response'],
  ['question', 'answer'],
  ['prompt', 'completion'],
  ['instruction', 'output'],
];

/**
 * CSV with a header row naming a prompt/response pair of columns (see `COLUMN_PAIRS`; an
 * Alpaca `input` and a `system` column are used when present and not blank). Parsed as a stream by
 * csv-parse: quoted fields may hold commas, quotes and newlines. A row with the wrong number
 * of fields, or an unclosed quote, is skipped as `malformed-csv`.
 */
export class CsvLoader implements DatasetLoader {
  readonly extensions = ['.csv'];

  async *load(path: string): AsyncIterable<LoadItem> {
    let headerProblem: string | undefined;
    const parser = createReadStream(path).pipe(
      parse({
        bom: true,
        info: true,
        skip_empty_lines: true,
        skip_records_with_error: true,
        columns: (header: string[]) => {
          const names = header.map((name) => String(name).trim().toLowerCase());
          if (!COLUMN_PAIRS.some(([prompt, response]) => names.includes(prompt) && names.includes(response))) {
            headerProblem = `the header (${names.join(', ')}) has no prompt/response columns; expected one of ${COLUMN_PAIRS.map((pair) => pair.join('/')).join(', ')}`;
            throw new FileSkipError('missing-columns', headerProblem);
          }
          return names;
        },
      }),
    );
    // csv-parse reports the rows it drops as events; they are yielded in their place among the records.
    const dropped: LoadItem[] = [];
    parser.on('skip', (error: CsvError & { lines?: number }) => {
      dropped.push({ kind: 'skip', reason: 'malformed-csv', where: `line ${error.lines ?? '?'}`, detail: error.message });
    });
    try {
      for await (const { record, info } of parser as AsyncIterable<{ record: Record<string, string>; info: { lines: number } }>) {
        yield* dropped.splice(0);
        const where = `line ${info.lines}`;
        const recognised = recogniseRecord(record);
        yield recognised.ok ? { kind: 'record', example: recognised.example, where } : { kind: 'skip', where, reason: recognised.reason, detail: recognised.detail };
      }
    } catch (error) {
      if (headerProblem !== undefined) throw new FileSkipError('missing-columns', headerProblem);
      throw error;
    } finally {
      parser.destroy();
    }
    yield* dropped.splice(0);
  }
}

