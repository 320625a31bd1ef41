import { StringDecoder } from 'node:string_decoder';
import { DEFAULT_MAX_LINE_BYTES, LineTooLongError } from './ndjson';

/** One server-sent event: its type (`message` unless an `event:` field said otherwise) and its data lines joined by `\n`. */
export interface SseEvent {
  event: string;
  data: string;
}

/**
 * Splits a byte stream into server-sent events, one network chunk at a time, as the
 * WHATWG event-stream rules say: lines end in CRLF, LF or CR (a CR at the end of a chunk
 * waits to see whether an LF follows), `:` lines are comments, a `data:` field may repeat
 * (its values are joined by `\n`), one space after the colon is dropped, and a blank line
 * dispatches the event. An `error:` field (llama.cpp server reports stream errors that way)
 * becomes an event of type `error`. Multi-byte characters cut across chunks are reassembled.
 *
 * A line longer than `maxLineBytes`, or an event whose data grows past it, raises
 * `LineTooLongError`. Only the new chunk is searched for line ends: an unfinished line is kept
 * as its pieces and joined once it ends (searching one growing string from its start made a
 * long line cost quadratic time).
 */
export class SseDecoder {
  private readonly decoder = new StringDecoder('utf8');
  /** The pieces of the unfinished line, and their size in bytes. */
  private pending: string[] = [];
  private pendingBytes = 0;
  /** The last chunk ended in CR: an LF opening the next one ends no further line. */
  private afterCr = false;
  private data: string[] = [];
  private dataLength = 0;
  private event = '';

  constructor(private readonly maxLineBytes = DEFAULT_MAX_LINE_BYTES) {}

  /** The events completed by `chunk`, in order. */
  push(chunk: Buffer | string): SseEvent[] {
    const text = typeof chunk === 'string' ? chunk : this.decoder.write(chunk);
    return this.scan(text, typeof chunk === 'string' ? undefined : chunk);
  }

  /**
   * The events left when the stream ended. An event whose data came but whose closing blank
   * line did not is still handed on: a server that ends `data: [DONE]` with a single newline
   * meant it.
   */
  end(): SseEvent[] {
    const events = this.scan(this.decoder.end(), undefined);
    if (this.pending.length > 0) {
      const event = this.line(this.pending.join(''));
      if (event) events.push(event);
    }
    this.pending = [];
    this.pendingBytes = 0;
    const last = this.dispatch();
    if (last) events.push(last);
    return events;
  }

  /** `bytes` is the chunk `text` was decoded from, when it was one (its size is then known without measuring). */
  private scan(text: string, bytes: Buffer | undefined): SseEvent[] {
    const events: SseEvent[] = [];
    if (text === '') return events;
    let start = 0;
    if (this.afterCr && text.charCodeAt(0) === 10) start = 1;
    this.afterCr = false;
    // Most servers end lines with LF alone: look for CR only when the chunk has one.
    let cr = text.indexOf('\r', start);
    let lf = text.indexOf('\n', start);
    while (lf !== -1 || cr !== -1) {
      const end = cr === -1 || (lf !== -1 && lf < cr) ? lf : cr;
      let piece = text.slice(start, end);
      if (this.pending.length > 0) {
        this.pendingBytes += Buffer.byteLength(piece);
        if (this.pendingBytes > this.maxLineBytes) this.tooLong();
        this.pending.push(piece);
        piece = this.pending.join('');
        this.pending = [];
        this.pendingBytes = 0;
      } else if (piece.length > this.maxLineBytes / 3 && Buffer.byteLength(piece) > this.maxLineBytes) this.tooLong();
      start = end + 1;
      if (end === cr) {
        if (lf === end + 1) start++;
        else if (end === text.length - 1) this.afterCr = true;
      }
      if (cr !== -1 && cr < start) cr = text.indexOf('\r', start);
      if (lf !== -1 && lf < start) lf = text.indexOf('\n', start);
      const event = this.line(piece);
      if (event) events.push(event);
    }
    if (start < text.length) {
      const rest = start === 0 ? text : text.slice(start);
      this.pendingBytes += bytes && start === 0 ? bytes.length : Buffer.byteLength(rest);
      if (this.pendingBytes > this.maxLineBytes) this.tooLong();
      this.pending.push(rest);
    }
    return events;
  }

  private line(line: string): SseEvent | undefined {
    if (line === '') return this.dispatch();
    if (line.startsWith(':')) return undefined;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.addData(value);
    else if (field === 'event') this.event = value;
    else if (field === 'error') {
      this.event = 'error';
      this.addData(value);
    }
    return undefined;
  }

  /** Data lines without a blank line after them would otherwise pile up without bound. */
  private addData(value: string): void {
    this.dataLength += value.length + 1;
    if (this.dataLength > this.maxLineBytes) this.tooLong();
    this.data.push(value);
  }

  private dispatch(): SseEvent | undefined {
    const data = this.data;
    const event = this.event;
    this.data = [];
    this.dataLength = 0;
    this.event = '';
    if (data.length === 0) return undefined;
    return { event: event || 'message', data: data.join('\n') };
  }

  private tooLong(): never {
    this.pending = [];
    this.pendingBytes = 0;
    this.data = [];
    this.dataLength = 0;
    throw new LineTooLongError(this.maxLineBytes);
  }
}
