import type { FastifyReply } from 'fastify';
import { CallerContext } from '../auth/caller-context';
import { CancelSignal, firstOf } from '../async/cancellation';
import { ClientClosedError } from '../errors/app-errors';
import type { ShutdownSignal } from '../lifecycle/shutdown-signal';
import { SseWriter } from './sse-writer';

/** One streamed answer of a dialect: its events, and how each dialect frames them. */
export interface SseStream<T> {
  reply: FastifyReply;
  heartbeatMs: number;
  /** Aborts when the client leaves. */
  client: CancelSignal;
  /** Absent in the CLI's graph. */
  shutdown?: ShutdownSignal;
  /** The events, ended by the signal given: the client leaving, or a shutdown. */
  events: (signal: CancelSignal) => AsyncIterable<T>;
  /** The frames that open the stream, written with the headers once the first event is there. */
  start?: (sse: SseWriter) => Promise<void>;
  write: (sse: SseWriter, event: T) => Promise<void>;
  /** The frames that close a stream whose events all came (none after a failure). */
  end?: (sse: SseWriter) => Promise<void>;
  /** A failure after the headers went out, as the dialect's error frame (a client that left gets none). */
  fail: (sse: SseWriter, failure: unknown) => Promise<void>;
}

/**
 * Streams a dialect's answer as Server-Sent Events whose headers go out with the first event:
 * a failure before it (an unknown model, the backend down, a key's limit) keeps its HTTP status
 * and the dialect's error body; one after it is the dialect's error frame. A request that waits
 * in Vega's queue for a model server opens the stream early to say so (`: queued, position 3`),
 * after which a failure is a frame too. A shutdown ends the stream like a client that left
 * (stored as aborted, the generation cancelled upstream), and tells a client still there with a
 * 503 frame.
 */
export async function streamSse<T>(stream: SseStream<T>): Promise<void> {
  const { reply, client, shutdown } = stream;
  const stop = shutdown ? firstOf([client, shutdown.signal]) : undefined;
  let sse: SseWriter | undefined;
  const opened = (): SseWriter => {
    if (!sse) {
      sse = new SseWriter(reply, stream.heartbeatMs);
      sse.open(reply.getHeaders() as Record<string, string>);
    }
    return sse;
  };
  const stopQueueReports = CallerContext.onQueued((position) => opened().queued(position));
  let started = false;
  try {
    for await (const event of stream.events(stop?.signal ?? client)) {
      if (!started) {
        started = true;
        await stream.start?.(opened());
      }
      await stream.write(opened(), event);
    }
    if (sse) await stream.end?.(sse);
  } catch (error) {
    const failure = shutdown ? shutdown.failureOf(error, client) : error;
    if (!sse) throw failure;
    if (!(failure instanceof ClientClosedError)) await stream.fail(sse, failure);
  } finally {
    stopQueueReports();
    stop?.release();
    sse?.end();
  }
}
