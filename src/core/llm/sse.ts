import { StringDecoder } from 'node:string_decoder';

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
 */
export class SseDecoder {
  private readonly decoder = new StringDecoder('utf8');
  private pending = '';
  private data: string[] = [];
  private event = '';

  /** The events completed by `chunk`, in order. */
  push(chunk: Buffer | string): SseEvent[] {
    this.pending += typeof chunk === 'string' ? chunk : this.decoder.write(chunk);
    return this.drain(false);
  }

  /**
   * The events left when the stream ended. An event whose data came but whose closing blank
   * line did not is still handed on: a server that ends `data: [DONE]` with a single newline
   * meant it.
   */
  end(): SseEvent[] {
    this.pending += this.decoder.end();
    const events = this.drain(true);
    const last = this.dispatch();
    if (last) events.push(last);
    return events;
  }

  private drain(final: boolean): SseEvent[] {
    const events: SseEvent[] = [];
    const text = this.pending;
    let start = 0;
    for (let index = 0; index < text.length; index++) {
      const char = text.charCodeAt(index);
      if (char !== 10 && char !== 13) continue;
      // A CR as the last character may be the first half of a CRLF cut by the network.
      if (char === 13 && index === text.length - 1 && !final) break;
      const line = text.slice(start, index);
      if (char === 13 && text.charCodeAt(index + 1) === 10) index++;
      start = index + 1;
      const event = this.line(line);
      if (event) events.push(event);
    }
    this.pending = text.slice(start);
    if (final && this.pending !== '') {
      const event = this.line(this.pending);
      this.pending = '';
      if (event) events.push(event);
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
    if (field === 'data') this.data.push(value);
    else if (field === 'event') this.event = value;
    else if (field === 'error') {
      this.event = 'error';
      this.data.push(value);
    }
    return undefined;
  }

  private dispatch(): SseEvent | undefined {
    const data = this.data;
    const event = this.event;
    this.data = [];
    this.event = '';
    if (data.length === 0) return undefined;
    return { event: event || 'message', data: data.join('\n') };
  }
}
