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
 * The same as a `Cancellation`, for the chat path, which takes any `CancelSignal` and is the
 * hottest route: fires with `ClientClosedError` when the client leaves early.
 */
export function clientGone(reply: FastifyReply): Cancellation {
  const cancellation = new Cancellation();
  whenClientLeaves(reply, () => cancellation.abort(new ClientClosedError()));
  return cancellation;
}
