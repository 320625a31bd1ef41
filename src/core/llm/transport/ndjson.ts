import { StringDecoder } from 'node:string_decoder';

/**
 * Reads a line of a known, exact shape more cheaply than `JSON.parse`, returning the value (or
 * the part of it the caller uses), or `undefined` for any line it does not recognise.
 */
export type LineShortcut = (line: string) => unknown;

/** The longest line a backend may send when no limit is configured (`BACKEND_MAX_LINE_BYTES`). */
export const DEFAULT_MAX_LINE_BYTES = 1024 * 1024;

const NEWLINE = 10;

/**
 * Splits a byte stream into parsed JSON lines, one network chunk at a time. Multi-byte
 * characters cut across chunks are reassembled by the decoder, and a line cut across chunks
 * waits for its end; a line that is not JSON raises `MalformedLineError` with the offending
 * text (shortened), and a line longer than `maxLineBytes` raises `LineTooLongError` as soon as
 * that many bytes have come without a newline. A `shortcut` may read the lines it recognises;
 * the others are parsed.
 *
 * Only the new chunk is searched for newlines: the unfinished line is kept as the list of its
 * pieces and joined once its end arrives (appending every chunk to one string and searching it
 * from the start made a 16 MB line cost a second of CPU and hundreds of MB).
 */
export class NdjsonDecoder {
  private readonly decoder = new StringDecoder('utf8');
  /** The pieces of the unfinished line, in order, and their size in bytes. */
  private pending: string[] = [];
  private pendingBytes = 0;

  constructor(
    private readonly shortcut?: LineShortcut,
    private readonly maxLineBytes = DEFAULT_MAX_LINE_BYTES,
  ) {}

  /** The lines completed by `chunk`, parsed, in order. */
  push(chunk: Buffer | string): unknown[] {
    const text = typeof chunk === 'string' ? chunk : this.decoder.write(chunk);
    const bytes = typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
    let newline = text.indexOf('\n');
    if (newline === -1) {
      this.hold(text, bytes);
      return [];
    }
    const values: unknown[] = [];
    // A line inside one chunk is no longer than the chunk: only a chunk over the limit needs measuring.
    const measure = bytes > this.maxLineBytes;
    let line = text.slice(0, newline);
    if (this.pending.length > 0) {
      const head = typeof chunk === 'string' ? Buffer.byteLength(line) : chunk.indexOf(NEWLINE);
      if (this.pendingBytes + head > this.maxLineBytes) this.tooLong();
      this.pending.push(line);
      line = this.pending.join('');
      this.pending = [];
    } else if (measure && Buffer.byteLength(line) > this.maxLineBytes) this.tooLong();
    this.pendingBytes = 0;
    for (;;) {
      if (line.trim() !== '') values.push(this.shortcut?.(line) ?? parseLine(line));
      const start = newline + 1;
      newline = text.indexOf('\n', start);
      if (newline === -1) {
        const rest = text.slice(start);
        if (rest !== '') this.hold(rest, typeof chunk === 'string' ? Buffer.byteLength(rest) : chunk.length - chunk.lastIndexOf(NEWLINE) - 1);
        return values;
      }
      line = text.slice(start, newline);
      if (measure && Buffer.byteLength(line) > this.maxLineBytes) this.tooLong();
    }
  }

  /** The last line when the stream ended without a newline after it. */
  end(): unknown[] {
    this.pending.push(this.decoder.end());
    const rest = this.pending.join('');
    this.pending = [];
    this.pendingBytes = 0;
    return rest.trim() === '' ? [] : [this.shortcut?.(rest) ?? parseLine(rest)];
  }

  private hold(piece: string, bytes: number): void {
    this.pendingBytes += bytes;
    if (this.pendingBytes > this.maxLineBytes) this.tooLong();
    this.pending.push(piece);
  }

  private tooLong(): never {
    this.pending = [];
    this.pendingBytes = 0;
    throw new LineTooLongError(this.maxLineBytes);
  }
}

/** `NdjsonDecoder` as an async generator: one parsed value per line. */
export async function* ndjson(source: AsyncIterable<Buffer | string>, maxLineBytes?: number): AsyncGenerator<unknown> {
  const decoder = new NdjsonDecoder(undefined, maxLineBytes);
  for await (const chunk of source) yield* decoder.push(chunk);
  yield* decoder.end();
}

export class MalformedLineError extends Error {
  override readonly name: string = 'MalformedLineError';
}

/** A line (or server-sent event) longer than the configured limit: the stream must stop. */
export class LineTooLongError extends MalformedLineError {
  override readonly name = 'LineTooLongError';

  constructor(readonly limitBytes: number) {
    super(lineTooLong('The backend', limitBytes));
  }
}

/** How the line limit is reported, with `source` naming the backend. */
export function lineTooLong(source: string, limitBytes: number): string {
  return `${source} sent a line longer than ${limitBytes} bytes (the BACKEND_MAX_LINE_BYTES limit); the stream was stopped`;
}

function parseLine(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    throw new MalformedLineError(`Malformed line from the backend: ${line.slice(0, 120)}`);
  }
}
