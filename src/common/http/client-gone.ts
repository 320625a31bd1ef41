import type { FastifyReply } from 'fastify';
import { Cancellation } from '../async/cancellation';
import { ClientClosedError } from '../errors/app-errors';

/** Calls `onGone` when the client disconnects before the response was sent. */
function whenClientLeaves(reply: FastifyReply, onGone: () => void): void {
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) onGone();
  });
}

/** A signal that aborts when the client disconnects before the response was sent. */
export function clientGoneSignal(reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  whenClientLeaves(reply, () => controller.abort());
  return controller.signal;
}

/**
 * `clientGoneSignal` as a `Cancellation` (fired with `ClientClosedError`), for the chat routes:
 * they take any `CancelSignal`, and they are the hottest path, where an `AbortSignal` costs.
 */
export function clientGone(reply: FastifyReply): Cancellation {
  const cancellation = new Cancellation();
  whenClientLeaves(reply, () => cancellation.abort(new ClientClosedError()));
  return cancellation;
}
