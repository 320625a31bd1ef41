import type { ServerResponse } from 'node:http';
import type { FastifyReply } from 'fastify';
import { Cancellation, CancelSignal } from '../async/cancellation';
import { ClientClosedError } from '../errors/app-errors';
import { drained } from './drained';

export const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
  connection: 'keep-alive',
  'x-accel-buffering': 'no',
} as const;

/**
 * Writes a Server-Sent Events stream on the raw response. Fastify is told to keep out
 * (`hijack`), writes honour backpressure, a comment is sent when the stream has been quiet
 * for `heartbeatMs`, and `signal` aborts as soon as the client goes away.
 */
export class SseWriter {
  private readonly raw: ServerResponse;
  private readonly closed = new Cancellation();
  private heartbeat?: NodeJS.Timeout;
  private lastWrite = 0;

  constructor(
    private readonly reply: FastifyReply,
    private readonly heartbeatMs = 15_000,
  ) {
    this.raw = reply.raw;
  }

  /** Aborted when the client disconnects before the stream ended. */
  get signal(): CancelSignal {
    return this.closed;
  }

  open(extraHeaders: Record<string, string> = {}): void {
    this.reply.hijack();
    this.raw.on('close', () => {
      if (!this.raw.writableFinished) this.closed.abort(new ClientClosedError());
      this.stopHeartbeat();
    });
    this.raw.writeHead(200, { ...extraHeaders, ...SSE_HEADERS });
    this.write(': ok\n\n');
    this.heartbeat = setInterval(() => {
      if (Date.now() - this.lastWrite >= this.heartbeatMs) this.write(': heartbeat\n\n');
    }, Math.max(10, Math.floor(this.heartbeatMs / 3)));
    this.heartbeat.unref();
  }

  /**
   * Sends one event, with an `id:` when `id` is given; `data` is JSON-encoded so newlines in tokens
   * survive. Waits if the socket is full.
   */
  async event(name: string, data: unknown, id?: string): Promise<void> {
    const frame = `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;
    if (!this.write(id === undefined ? frame : `id: ${id}\n${frame}`)) {
      await drained(this.raw);
    }
  }

  /**
   * Sends an unnamed event (`data:` only, as OpenAI-style streams need); `data` is JSON-encoded
   * unless it is a string, which is sent as is (`[DONE]`). Waits if the socket is full.
   */
  async data(data: unknown): Promise<void> {
    if (!this.write(`data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`)) {
      await drained(this.raw);
    }
  }

  /** Sends a comment line (`: text`), which clients skip unless they look for it. */
  comment(text: string): void {
    this.write(`: ${text}\n\n`);
  }

  /** Says the request waits in Vega's queue for a model server, and its place (1: next). */
  queued(position: number): void {
    this.comment(`queued, position ${position}`);
  }

  end(): void {
    this.stopHeartbeat();
    if (!this.raw.destroyed && !this.raw.writableEnded) this.raw.end();
  }

  private write(frame: string): boolean {
    if (this.raw.destroyed || this.raw.writableEnded) return true;
    this.lastWrite = Date.now();
    return this.raw.write(frame);
  }

  private stopHeartbeat(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = undefined;
  }
}
