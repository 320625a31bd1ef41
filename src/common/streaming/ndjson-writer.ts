import type { ServerResponse } from 'node:http';
import type { FastifyReply } from 'fastify';
import { drained } from './drained';

/** Ollama's streaming type, set verbatim (no charset), as Ollama's own handlers do. */
export const NDJSON_CONTENT_TYPE = 'application/x-ndjson';

/**
 * Writes a newline-delimited JSON stream (one object a line, Ollama's streaming format) on the
 * raw response. Fastify is told to keep out (`hijack`) once the first line is ready, so an error
 * before it still gets an ordinary HTTP status; writes honour backpressure. No heartbeat:
 * Ollama sends none, and a blank line would be a line its clients try to parse.
 */
export class NdjsonWriter {
  private readonly raw: ServerResponse;
  private opened = false;

  constructor(private readonly reply: FastifyReply) {
    this.raw = reply.raw;
  }

  /** Whether the status line and headers went out (an error can then only be a line of the stream). */
  get started(): boolean {
    return this.opened;
  }

  /** Sends one object as a line; the headers go out with the first. Waits if the socket is full. */
  async line(value: unknown): Promise<void> {
    if (!this.opened) this.open();
    if (this.raw.destroyed || this.raw.writableEnded) return;
    if (!this.raw.write(`${JSON.stringify(value)}\n`)) {
      await drained(this.raw);
    }
  }

  end(): void {
    if (this.opened && !this.raw.destroyed && !this.raw.writableEnded) this.raw.end();
  }

  private open(): void {
    this.opened = true;
    this.reply.hijack();
    // The headers Vega set on the reply (request id, security headers) go out with the stream's.
    const headers = this.reply.getHeaders() as Record<string, string>;
    this.raw.writeHead(200, { ...headers, 'content-type': NDJSON_CONTENT_TYPE, 'cache-control': 'no-cache', 'x-accel-buffering': 'no' });
  }
}
