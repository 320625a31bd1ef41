import type { IncomingHttpHeaders } from 'node:http';
import type { Agent } from 'undici';
import type { CancelSignal } from '../../../common/async/cancellation';
import { BackendTimeoutError, ClientClosedError } from '../../../common/errors/app-errors';
import { connectionsInUse } from './backend-agent';
import type Dispatcher from 'undici/types/dispatcher';

/** Queued body bytes past which the socket is paused until the consumer catches up. */
const HIGH_WATER_BYTES = 64 * 1024;

/**
 * One HTTP request through undici's `dispatch` handler API, its response body read as an async
 * iterable of Buffers. It does what `request()` does for a streamed body without a `Readable`
 * and its async iterator in between, and without registering an `AbortSignal` inside undici:
 * `abort()` is called directly. On a chat request that is about a third of undici's CPU time.
 * Back-pressure is kept: past 64 KiB of unread body the socket is paused.
 */
export class StreamedExchange implements Dispatcher.DispatchHandler {
  statusCode = 0;
  headers: IncomingHttpHeaders = {};
  /** Resolves when the status line and headers are in; rejects when the request failed before that. */
  readonly started: Promise<void>;

  /** Whether any body bytes arrived (a connection closed before them closed before answering). */
  receivedBody = false;

  private controller?: Dispatcher.DispatchController;
  private abortReason?: Error;
  private queue: Buffer[] = [];
  private queuedBytes = 0;
  private ended = false;
  private failure?: Error;
  private wake?: () => void;
  private resolveStart!: () => void;
  private rejectStart!: (error: Error) => void;

  constructor(agent: Agent, options: Dispatcher.DispatchOptions) {
    this.started = new Promise<void>((resolve, reject) => {
      this.resolveStart = resolve;
      this.rejectStart = reject;
    });
    // Nothing awaits `started` once the body is being read; its rejection is seen there.
    this.started.catch(() => undefined);
    agent.dispatch(options, this);
  }

  /**
   * Ends the exchange now (the socket is closed); the body, if read, throws `reason`. A request
   * still waiting for a connection fails at once: undici cannot take it out of its queue, so it
   * is aborted when a connection takes it up, but nobody waits for that.
   */
  abort(reason: Error): void {
    if (this.ended || this.failure) return;
    if (this.controller) return this.controller.abort(reason);
    this.abortReason = reason;
    this.failure = reason;
    this.rejectStart(reason);
    this.notify();
  }

  get complete(): boolean {
    return this.ended;
  }

  /** Whether the request got a connection and was sent on it (undici has started it). */
  get sent(): boolean {
    return this.controller !== undefined;
  }

  /** The body's chunks as they arrive; throws what ended the exchange early. */
  async *body(): AsyncGenerator<Buffer> {
    for (;;) {
      if (this.queue.length > 0) {
        const chunks = this.queue;
        this.queue = [];
        this.queuedBytes = 0;
        if (this.controller?.paused) this.controller.resume();
        yield* chunks;
        continue;
      }
      if (this.failure) throw this.failure;
      if (this.ended) return;
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  /** The whole body as text (for error responses). */
  async text(): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const chunk of this.body()) chunks.push(chunk);
    return Buffer.concat(chunks).toString('utf8');
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.abortReason) controller.abort(this.abortReason);
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders): void {
    this.statusCode = statusCode;
    this.headers = headers;
    this.resolveStart();
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.receivedBody = true;
    this.queue.push(chunk);
    this.queuedBytes += chunk.length;
    if (this.queuedBytes > HIGH_WATER_BYTES) controller.pause();
    this.notify();
  }

  onResponseEnd(): void {
    this.ended = true;
    this.notify();
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    if (this.abortReason) return; // failed already, when it was aborted before it had a connection
    this.failure = error;
    this.rejectStart(error);
    this.notify();
  }

  private notify(): void {
    const wake = this.wake;
    if (wake) {
      this.wake = undefined;
      wake();
    }
  }
}

/** A backend base URL as undici's dispatch wants it: the origin and a path prefix (behind a proxy). */
export interface DispatchTarget {
  origin: string;
  prefix: string;
}

export function dispatchTarget(base: string): DispatchTarget {
  const url = new URL(base);
  return { origin: url.origin, prefix: url.pathname.replace(/\/+$/, '') };
}

/** How a backend names what went wrong while opening a stream. */
export interface StreamErrors {
  /** Whether the request never reached the host (it may go to another target). */
  isConnectError(error: unknown): boolean;
  /** A failure that is not a connect error. */
  failed(error: unknown): Error;
  /** A status other than 200, with the body's text. */
  http(status: number, text: string): Error;
  /** The host did not accept a connection. */
  unreachable(error: unknown): Error;
  /** The host at `base` accepted the request, then closed the connection without answering. */
  closed(base: string, error: unknown): Error;
}

/**
 * POSTs `body` to `target` and waits for a 200 and its headers; any other status becomes
 * `errors.http`. `signal` aborts the exchange until `finish()` is called, which also closes the
 * socket when the body was not read to its end (a body read to its end leaves the keep-alive
 * connection in the pool).
 */
export async function openStream(
  agent: Agent,
  target: DispatchTarget,
  request: { path: string; body: string; headers: Record<string, string> },
  signal: CancelSignal,
  errors: StreamErrors,
): Promise<{ exchange: StreamedExchange; finish: () => void; base: string }> {
  if (signal.aborted) throw signal.reason;
  const exchange = new StreamedExchange(agent, {
    origin: target.origin,
    path: `${target.prefix}${request.path}`,
    method: 'POST',
    headers: request.headers,
    body: request.body,
  });
  const onAbort = () => exchange.abort(signal.reason as Error);
  signal.addEventListener('abort', onAbort, { once: true });
  const release = () => signal.removeEventListener('abort', onAbort);
  try {
    await exchange.started;
  } catch (error) {
    release();
    if (signal.aborted) throw exchange.sent ? signal.reason : whileWaiting(signal.reason, agent, target.origin);
    if (!errors.isConnectError(error)) throw errors.failed(error);
    // Sent on a connection: the host is up and may have started on it.
    if (exchange.sent) throw errors.closed(baseOf(target), error);
    throw errors.unreachable(error);
  }
  if (exchange.statusCode === 200) {
    const finish = () => {
      release();
      if (!exchange.complete) exchange.abort(new ClientClosedError());
    };
    return { exchange, finish, base: baseOf(target) };
  }
  const text = await exchange.text().catch(() => '');
  release();
  throw errors.http(exchange.statusCode, text);
}

const baseOf = (target: DispatchTarget): string => `${target.origin}${target.prefix}`;

/**
 * A timeout that struck while the request was still queued for a connection (every one to the
 * host busy with other streams) says so: the model was never asked, the pool was too small.
 */
function whileWaiting(reason: unknown, agent: Agent, origin: string): unknown {
  const inUse = connectionsInUse(agent, origin);
  if (!(reason instanceof BackendTimeoutError) || inUse === undefined) return reason;
  return new BackendTimeoutError(
    reason.kind,
    `${reason.message}; the request was still waiting for a free connection to the backend (all ${inUse} in use; BACKEND_MAX_CONNECTIONS)`,
  );
}
