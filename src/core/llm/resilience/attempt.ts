import { setTimeout as sleep } from 'node:timers/promises';
import { Cancellation, CancelSignal } from '../../../common/async/cancellation';
import { AppError, BackendBusyError, BackendTimeoutError, ClientClosedError } from '../../../common/errors/app-errors';
import type { BreakerPermit } from './circuit-breaker';

/*
 * One model call's attempts: the deadline of the whole call, the watch on one attempt (first
 * token, silence between chunks), and how a failed attempt counts for the breaker.
 */

/**
 * How a failed call counts for the breaker: a timeout or 5xx is a failure, a 4xx a healthy
 * backend, a server that said it is full (busy) nothing either way.
 */
export function settleFailure(permit: BreakerPermit, failure: unknown): void {
  if (failure instanceof ClientClosedError || failure instanceof BackendBusyError) permit.release();
  else if (failure instanceof BackendTimeoutError || (failure instanceof AppError && failure.status >= 500)) permit.failure();
  else permit.success(); // the backend answered (404 model, 400 options): it is healthy
}

/** The timeouts of one attempt: the whole request, the first token, the longest silence. */
export interface AttemptLimits {
  timeoutMs: number;
  firstTokenTimeoutMs: number;
  idleTimeoutMs: number;
}

/** When the whole request must be over, and why a wait between attempts would be cut short. */
export class Deadline {
  private readonly startedAt = performance.now();
  private dueAt: number;

  constructor(
    private timeoutMs: number,
    readonly client: CancelSignal,
  ) {
    this.dueAt = this.startedAt + timeoutMs;
  }

  /** When the whole request must be over (performance.now() time). */
  get at(): number {
    return this.dueAt;
  }

  /**
   * From now on the request must be over `timeoutMs` after it started: the total timeout of the
   * target the next attempt goes to (a slow server may be given longer than the others).
   */
  limitTo(timeoutMs: number): void {
    this.timeoutMs = timeoutMs;
    this.dueAt = this.startedAt + timeoutMs;
  }

  remainingMs(): number {
    return this.at - performance.now();
  }

  /** The error that ends the request now, if any: the client left, or the time is up. */
  reason(): unknown {
    if (this.client.aborted) return new ClientClosedError();
    if (this.remainingMs() <= 0) return this.expired();
    return undefined;
  }

  expired(): BackendTimeoutError {
    return new BackendTimeoutError('total', `The model did not finish within ${seconds(this.timeoutMs)} s`);
  }

  /** Sleeps `ms`, cut short (rejecting with the reason) by the client leaving or the deadline. */
  async wait(ms: number): Promise<void> {
    const remaining = this.remainingMs();
    const controller = new AbortController();
    const onClientAbort = () => controller.abort(new ClientClosedError());
    this.client.addEventListener('abort', onClientAbort, { once: true });
    try {
      if (ms >= remaining) {
        await sleep(Math.max(0, remaining), undefined, { signal: controller.signal });
        throw this.expired();
      }
      await sleep(ms, undefined, { signal: controller.signal });
    } catch (error) {
      throw controller.signal.aborted ? controller.signal.reason : error;
    } finally {
      this.client.removeEventListener('abort', onClientAbort);
    }
  }
}

/**
 * One attempt: one abort signal for the upstream request, fired by the client leaving or by
 * the first of the three timeouts (first token, idle, the whole request's deadline).
 *
 * A single timer is armed for whichever of them is due first, and a chunk does not re-arm it:
 * it only records when it arrived. When the timer fires early for the limit now in force (the
 * idle limit counts from the last chunk), it is armed again for the rest. A stream of hundreds
 * of chunks thus sets a timer about once per idle period instead of once per chunk.
 */
export class AttemptWatch {
  private readonly cancellation = new Cancellation();
  private readonly startedAt = performance.now();
  private timer?: NodeJS.Timeout;
  /** When the armed timer fires (performance.now() time). */
  private timerDueAt = Infinity;
  /** When the last chunk arrived; 0 until the first one (the first-token limit applies until then). */
  private lastChunkAt = 0;
  private finished = false;
  private readonly onClientAbort = () => this.cancellation.abort(new ClientClosedError());
  private readonly onTimer = () => this.check();

  constructor(
    private readonly deadline: Deadline,
    private readonly limits: { firstTokenTimeoutMs: number; idleTimeoutMs: number },
  ) {
    const reason = deadline.reason();
    if (reason) this.cancellation.abort(reason);
    else {
      deadline.client.addEventListener('abort', this.onClientAbort, { once: true });
      this.arm(this.dueAt() - this.startedAt);
    }
  }

  get signal(): CancelSignal {
    return this.cancellation;
  }

  chunkArrived(): void {
    this.lastChunkAt = performance.now();
    // Only the switch from the first-token limit can bring the due time forward.
    const due = this.dueAt();
    if (due < this.timerDueAt) this.arm(due - this.lastChunkAt);
  }

  /**
   * The error to report: the abort reason when this attempt was aborted, else the error itself.
   * An adapter may restate the timeout that stopped it with what it knows (the request was
   * still waiting for a connection): that one is reported.
   */
  explain(error: unknown): unknown {
    if (!this.cancellation.aborted) return error;
    const reason = this.cancellation.reason;
    if (error instanceof BackendTimeoutError && reason instanceof BackendTimeoutError && error.kind === reason.kind) return error;
    return reason;
  }

  /** The attempt completed: stop the timer; nothing upstream is left to cancel. */
  finish(): void {
    this.finished = true;
    this.disarm();
  }

  dispose(): void {
    this.disarm();
    this.deadline.client.removeEventListener('abort', this.onClientAbort);
    // Stops the upstream request if it is still running (the consumer stopped early).
    if (!this.finished && !this.cancellation.aborted) this.cancellation.abort(new ClientClosedError());
  }

  /** When the limit now in force runs out: first token or idle, capped by the deadline. */
  private dueAt(): number {
    const limit =
      this.lastChunkAt === 0
        ? this.startedAt + this.limits.firstTokenTimeoutMs
        : this.lastChunkAt + this.limits.idleTimeoutMs;
    return Math.min(limit, this.deadline.at);
  }

  private check(): void {
    this.timer = undefined;
    this.timerDueAt = Infinity;
    if (this.cancellation.aborted || this.finished) return;
    const now = performance.now();
    const due = this.dueAt();
    // Timers fire on whole milliseconds: within one of the due time counts as due.
    if (due - now > 1) return this.arm(due - now);
    if (due === this.deadline.at) return this.cancellation.abort(this.deadline.expired());
    if (this.lastChunkAt === 0) {
      const ms = this.limits.firstTokenTimeoutMs;
      return this.cancellation.abort(new BackendTimeoutError('first_token', `The model sent no token within ${seconds(ms)} s`));
    }
    const ms = this.limits.idleTimeoutMs;
    this.cancellation.abort(new BackendTimeoutError('idle', `The model stalled: no data for ${seconds(ms)} s`));
  }

  private arm(ms: number): void {
    if (this.cancellation.aborted) return;
    this.disarm();
    const delay = Math.max(0, ms);
    this.timerDueAt = performance.now() + delay;
    this.timer = setTimeout(this.onTimer, delay);
  }

  private disarm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerDueAt = Infinity;
  }
}

const seconds = (ms: number) => Number((ms / 1000).toFixed(2));
