import { StringDecoder } from 'node:string_decoder';

/**
 * Reads a line of a known, exact shape more cheaply than `JSON.parse`, returning the value (or
 * the part of it the caller uses), or `undefined` for any line it does not recognise.
 */
export type LineShortcut = (line: string) => unknown;

/**
 * Splits a byte stream into parsed JSON lines, one network chunk at a time. Multi-byte
 * characters cut across chunks are reassembled by the decoder, and a line cut across chunks
 * waits for its end; a line that is not JSON raises `MalformedLineError` with the offending
 * text (shortened). A `shortcut` may read the lines it recognises; the others are parsed.
 */
export class NdjsonDecoder {
  private readonly decoder = new StringDecoder('utf8');
  private pending = '';

  constructor(private readonly shortcut?: LineShortcut) {}

  /** The lines completed by `chunk`, parsed, in order. */
  push(chunk: Buffer | string): unknown[] {
    this.pending += typeof chunk === 'string' ? chunk : this.decoder.write(chunk);
    const values: unknown[] = [];
    let start = 0;
    let newline = this.pending.indexOf('\n');
    while (newline !== -1) {
      const line = this.pending.slice(start, newline);
      if (line.trim() !== '') values.push(this.shortcut?.(line) ?? parseLine(line));
      start = newline + 1;
      newline = this.pending.indexOf('\n', start);
    }
    this.pending = this.pending.slice(start);
    return values;
  }

  /** The last line when the stream ended without a newline after it. */
  end(): unknown[] {
    const rest = this.pending + this.decoder.end();
    this.pending = '';
    return rest.trim() === '' ? [] : [this.shortcut?.(rest) ?? parseLine(rest)];
  }
}

/** `NdjsonDecoder` as an async generator: one parsed value per line. */
export async function* ndjson(source: AsyncIterable<Buffer | string>): AsyncGenerator<unknown> {
  const decoder = new NdjsonDecoder();
  for await (const chunk of source) yield* decoder.push(chunk);
  yield* decoder.end();
}

export class MalformedLineError extends Error {
  override readonly name = 'MalformedLineError';
}

function parseLine(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    throw new MalformedLineError(`Malformed line from the backend: ${line.slice(0, 120)}`);
  }
}
