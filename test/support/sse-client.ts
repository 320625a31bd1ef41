import { request as httpRequest, type ClientRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';

/**
 * A raw Server-Sent Events client over node:http, so tests can read a stream event by event and
 * hang up mid-stream (fetch/EventSource hide the socket).
 */

export interface SseEvent {
  /** 'message' unless the server named the event */
  event: string;
  /** data lines joined with '\n' */
  data: string;
  /** the last event ID seen on the stream (it carries over to later events, per the WHATWG rules) */
  id?: string;
}

export interface SseConnection {
  status: number;
  headers: IncomingHttpHeaders;
  comments: string[];
  /** events as they arrive */
  events: AsyncIterable<SseEvent>;
  /** resolves with all events when the server ends the stream */
  all(): Promise<SseEvent[]>;
  /** destroy the socket now (simulates the client going away) */
  close(): void;
  /** raw body text received so far */
  raw(): string;
}

export interface SseRequestInit {
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  /** JSON-encoded when not a string */
  body?: unknown;
}

export function openSse(url: string, init: SseRequestInit = {}): Promise<SseConnection> {
  const body = init.body === undefined || typeof init.body === 'string' ? init.body : JSON.stringify(init.body);
  const headers: Record<string, string> = { accept: 'text/event-stream' };
  if (body !== undefined) {
    if (typeof init.body !== 'string') headers['content-type'] = 'application/json';
    headers['content-length'] = String(Buffer.byteLength(body));
  }
  Object.assign(headers, init.headers);
  const method = init.method ?? (body === undefined ? 'GET' : 'POST');
  return new Promise<SseConnection>((resolve, reject) => {
    // A fresh socket per stream (agent: false) so close() really hangs up instead of pooling it.
    const req = httpRequest(url, { method, headers, agent: false }, (res) => resolve(new SseStream(req, res)));
    req.on('error', reject);
    req.end(body);
  });
}

/** What an emulated EventSource saw before it stopped (or was stopped). */
export interface EventSourceRun {
  /** the status of each connection, in order */
  statuses: number[];
  /** every event of every connection, in order */
  events: SseEvent[];
  /** the `Last-Event-ID` each connection sent ('' when none) */
  sentIds: string[];
  /** true when it stopped on its own (an answer that is not a 200 event stream), false when `maxConnections` cut it short */
  stopped: boolean;
}

/**
 * Emulates what a browser's `EventSource` does with a GET stream (HTML standard, "server-sent
 * events"): after each stream ends it reconnects, sending the last event id it saw as
 * `Last-Event-ID`; an answer that is not a 200 `text/event-stream` (such as 204) fails the
 * connection for good. The `eventsource` package is not installed, so this stands in for it
 * (test/browser/event-source.browser-spec.ts runs Chromium's own EventSource against the same
 * route); `reconnectMs` stands in for the browser's ~3 s default delay.
 */
export async function runEventSource(
  url: string,
  init: { headers?: Record<string, string>; reconnectMs?: number; maxConnections?: number } = {},
): Promise<EventSourceRun> {
  const run: EventSourceRun = { statuses: [], events: [], sentIds: [], stopped: false };
  let lastEventId = '';
  for (let n = 0; n < (init.maxConnections ?? 4); n++) {
    if (n > 0) await new Promise((resolve) => setTimeout(resolve, init.reconnectMs ?? 50));
    const headers: Record<string, string> = { 'cache-control': 'no-cache', ...init.headers };
    if (lastEventId !== '') headers['last-event-id'] = lastEventId;
    run.sentIds.push(lastEventId);
    const sse = await openSse(url, { method: 'GET', headers });
    run.statuses.push(sse.status);
    if (sse.status !== 200 || !isEventStream(sse.headers)) {
      sse.close();
      run.stopped = true;
      return run;
    }
    try {
      for await (const event of sse.events) {
        run.events.push(event);
        if (event.id !== undefined) lastEventId = event.id;
      }
    } catch {
      // a dropped connection is reconnected too
    }
  }
  return run;
}

type StreamState = { kind: 'open' } | { kind: 'ended' } | { kind: 'failed'; error: Error };

class SseStream implements SseConnection {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly comments: string[] = [];
  private readonly received: SseEvent[] = [];
  private readonly wakers = new Set<() => void>();
  private text = '';
  private state: StreamState = { kind: 'open' };
  private closedByClient = false;

  constructor(
    private readonly req: ClientRequest,
    res: IncomingMessage,
  ) {
    this.status = res.statusCode ?? 0;
    this.headers = res.headers;
    const parser = isEventStream(res.headers)
      ? new SseParser((event) => this.received.push(event), (comment) => this.comments.push(comment))
      : undefined;
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      this.text += chunk;
      parser?.push(chunk);
      this.wake();
    });
    res.on('end', () => this.settle({ kind: 'ended' }));
    res.on('error', (error) => this.settle(this.closedByClient ? { kind: 'ended' } : { kind: 'failed', error }));
    res.on('close', () => this.settle(this.closedByClient ? { kind: 'ended' } : prematureClose()));
  }

  get events(): AsyncIterable<SseEvent> {
    return { [Symbol.asyncIterator]: () => this.iterate() };
  }

  async all(): Promise<SseEvent[]> {
    while (this.state.kind === 'open') await this.changed();
    if (this.state.kind === 'failed') throw this.state.error;
    return this.received.slice();
  }

  close(): void {
    this.closedByClient = true;
    this.req.destroy();
  }

  raw(): string {
    return this.text;
  }

  private async *iterate(): AsyncGenerator<SseEvent> {
    let next = 0;
    for (;;) {
      while (next < this.received.length) yield this.received[next++] as SseEvent;
      if (this.state.kind === 'ended') return;
      if (this.state.kind === 'failed') throw this.state.error;
      await this.changed();
    }
  }

  private changed(): Promise<void> {
    return new Promise<void>((resolve) => this.wakers.add(resolve));
  }

  private wake(): void {
    const wakers = [...this.wakers];
    this.wakers.clear();
    for (const wake of wakers) wake();
  }

  private settle(state: StreamState): void {
    if (this.state.kind !== 'open') return;
    this.state = state;
    this.wake();
  }
}

function isEventStream(headers: IncomingHttpHeaders): boolean {
  return (headers['content-type'] ?? '').toLowerCase().startsWith('text/event-stream');
}

function prematureClose(): StreamState {
  return { kind: 'failed', error: new Error('SSE stream closed by the server before it ended') };
}

/** Incremental parser following https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation */
export class SseParser {
  private partial = '';
  private started = false;
  /** a chunk ended in '\r': a '\n' opening the next chunk belongs to the same line ending */
  private skipLeadingLf = false;
  private eventType = '';
  private data = '';
  private lastEventId = '';

  constructor(
    private readonly onEvent: (event: SseEvent) => void,
    private readonly onComment: (comment: string) => void = () => undefined,
  ) {}

  push(chunk: string): void {
    if (chunk.length === 0) return;
    let start = 0;
    if (!this.started) {
      this.started = true;
      if (chunk.charCodeAt(0) === 0xfeff) start = 1;
    }
    if (this.skipLeadingLf && chunk.charCodeAt(start) === 10) start++;
    this.skipLeadingLf = false;
    for (let i = start; i < chunk.length; i++) {
      const code = chunk.charCodeAt(i);
      if (code !== 10 && code !== 13) continue;
      const line = this.partial + chunk.slice(start, i);
      this.partial = '';
      if (code === 13) {
        if (i + 1 === chunk.length) this.skipLeadingLf = true;
        else if (chunk.charCodeAt(i + 1) === 10) i++;
      }
      start = i + 1;
      this.processLine(line);
    }
    this.partial += chunk.slice(start);
  }

  private processLine(line: string): void {
    if (line === '') return this.dispatch();
    if (line.startsWith(':')) return this.onComment(withoutLeadingSpace(line.slice(1)));
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    const value = colon === -1 ? '' : withoutLeadingSpace(line.slice(colon + 1));
    switch (field) {
      case 'event':
        this.eventType = value;
        break;
      case 'data':
        this.data += `${value}\n`;
        break;
      case 'id':
        if (!value.includes('\0')) this.lastEventId = value;
        break;
      // 'retry' only matters to a reconnecting EventSource; unknown fields are ignored by the spec.
    }
  }

  private dispatch(): void {
    const type = this.eventType;
    const data = this.data;
    this.eventType = '';
    this.data = '';
    if (data === '') return;
    const event: SseEvent = { event: type || 'message', data: data.slice(0, -1) };
    if (this.lastEventId !== '') event.id = this.lastEventId;
    this.onEvent(event);
  }
}

function withoutLeadingSpace(value: string): string {
  return value.startsWith(' ') ? value.slice(1) : value;
}
