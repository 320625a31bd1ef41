import {
  AppError,
  BackendBusyError,
  BackendTimeoutError,
  BackendUnavailableError,
  BackendUnreachableError,
  BreakerOpenError,
  ClientClosedError,
  ModelNotFoundError,
} from '../../../common/errors/app-errors';
import { unservedModelMessage } from '../model-availability';
import type { Deadline } from '../resilience/attempt';
import type { BreakerPermit } from '../resilience/circuit-breaker';
import type { Slot } from './fair-queue';
import type { Target } from './target';
import type { TargetPool } from './target-pool';

/** One attempt's target, its place there (`end()` gives it back, once) and its breaker's permission. */
export interface Leg extends Slot {
  permit: BreakerPermit;
}

/** A slot whose target the other instances fill (its shared count said so). */
const HELD_ELSEWHERE = Symbol('held elsewhere');

/** The longest pause before servers that all said busy are tried again. */
const MAX_BUSY_PAUSE_MS = 5_000;

export interface RoutePolicy {
  /** Retries after a failure that another target cannot take at once (`LLM_MAX_RETRIES`). */
  maxRetries: number;
  /** The wait before retry number `attempt` (from 0). */
  backoffMs(attempt: number): number;
}

/**
 * The targets one model call goes through, attempt by attempt. A failure that says the server
 * never started on the request (unreachable, busy, no such model) moves on to another target at
 * once, without counting as a retry, and so does a first token that did not come in time (to a
 * target not tried yet, never the same one again); any other retryable failure waits the backoff and retries,
 * on another target when there is one. Only failures before anything reached the client are
 * handed here: after that an attempt is never repeated.
 *
 * When every target for the model is at its max concurrency (or others already wait for it),
 * the attempt waits in the pool's fair queue for a place. When every target said busy, the
 * request pauses and tries again (never handing the busy answer to the client), bounded by the
 * queue's max wait counted from when it first had to wait.
 */
export class Route {
  private readonly tried = new Set<Target>();
  private readonly unreachable: BackendUnreachableError[] = [];
  private retries = 0;
  private busyPauses = 0;
  private current?: Target;
  /** When the call first had to wait (queued, or paused for busy servers). */
  private waitingSince?: number;

  constructor(
    private readonly pool: TargetPool,
    private readonly model: string,
    private readonly deadline: Deadline,
    private readonly policy: RoutePolicy,
  ) {}

  /**
   * The first attempt's target, after a wait in the queue when all are full; `BreakerOpenError`
   * when every target for the model refuses calls now, `QueueRefusedError` when the queue does.
   */
  first(): Promise<Leg> {
    return this.acquire(this.pool.pick(this.model));
  }

  /**
   * The next attempt's target after `failure`, waiting the backoff first when it is a retry;
   * throws the failure that ends the call (or what cut the wait short).
   */
  async next(failure: unknown): Promise<Leg> {
    if (this.current) this.tried.add(this.current);
    if (failure instanceof BackendUnreachableError) this.unreachable.push(failure);
    if (movesOn(failure)) {
      const untried = this.pool.pick(this.model, this.tried);
      if (untried) return this.acquire(untried);
      if (failure instanceof BackendBusyError) return this.afterBusy();
    }
    // A server that sent nothing in time may be stuck (loading, swapping): another one may answer
    // within what is left of the request's time. It is not retried on the same server.
    if (failure instanceof BackendTimeoutError && failure.kind === 'first_token' && !this.deadline.reason()) {
      const untried = this.pool.pick(this.model, this.tried);
      if (untried) return this.acquire(untried);
    }
    if (!(failure instanceof AppError) || !failure.retryable || this.retries >= this.policy.maxRetries || this.deadline.reason()) {
      throw this.finalFailure(failure);
    }
    const interrupted = await this.deadline.wait(this.policy.backoffMs(this.retries)).then(
      () => undefined,
      (reason: unknown) => reason ?? new ClientClosedError(),
    );
    if (interrupted) throw interrupted;
    this.retries += 1;
    // A retry prefers a target not tried yet; when all were, it starts the round again.
    let target = this.pool.pick(this.model, this.tried);
    if (!target) {
      this.tried.clear();
      target = this.pool.pick(this.model);
    }
    if (!target) throw this.finalFailure(failure);
    return this.acquire(target);
  }

  /**
   * A leg on `target` when it has room and nobody waits for the model; otherwise a place from
   * the queue (given by whichever target frees one first).
   */
  private async acquire(target: Target | undefined): Promise<Leg> {
    const queue = this.pool.queue;
    for (;;) {
      if (!target) throw this.noTarget();
      if (target.hasRoom && queue.length(this.model) === 0) {
        const leg = await this.take(queue.take(target, this.model));
        if (leg === HELD_ELSEWHERE) {
          // The other instances hold its places: another target, or a wait in the queue.
          target = this.pool.pick(this.model);
          continue;
        }
        if (leg) return leg;
        throw this.noTarget();
      }
      this.waitingSince ??= performance.now();
      const leg = await this.take(await queue.wait(this.model, this.deadline, this.waitingSince));
      if (leg && leg !== HELD_ELSEWHERE) return leg;
      target = this.pool.pick(this.model);
    }
  }

  /** Every target said busy: pause (bounded by the max wait), then start the round again. */
  private async afterBusy(): Promise<Leg> {
    const since = (this.waitingSince ??= performance.now());
    const pause = Math.min(MAX_BUSY_PAUSE_MS, this.policy.backoffMs(this.busyPauses));
    this.busyPauses += 1;
    await this.deadline.wait(Math.min(pause, Math.max(0, since + this.pool.queue.maxWaitMs - performance.now()))).catch((reason: unknown) => {
      throw reason ?? new ClientClosedError();
    });
    const overdue = this.pool.queue.refuseIfOverdue(this.model, since);
    if (overdue) throw overdue;
    this.tried.clear();
    return this.acquire(this.pool.pick(this.model));
  }

  /**
   * The slot's place counted with the other instances' (when they share counts), then the
   * breaker's permission on its target; without either the slot is given back.
   */
  private async take(slot: Slot): Promise<Leg | typeof HELD_ELSEWHERE | undefined> {
    const shared = await slot.target.claimShared();
    if (!shared) {
      slot.end();
      return HELD_ELSEWHERE;
    }
    const permit = slot.target.acquire();
    if (!permit) {
      shared();
      slot.end();
      return undefined;
    }
    this.current = slot.target;
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      // The shared place first: a waiter this end wakes asks for it after it is given back.
      shared();
      slot.end();
    };
    return { target: slot.target, end, permit };
  }

  /** Every target tried was unreachable: say so of all of them, not only the last. */
  private finalFailure(failure: unknown): unknown {
    if (!(failure instanceof BackendUnreachableError) || this.unreachable.length < 2) return failure;
    return allUnreachable(this.unreachable, failure);
  }

  private noTarget(): Error {
    const serving = this.pool.servingTargets(this.model);
    if (serving.length === 0) {
      // Ollama's own API hands on Ollama's own words, as a single Ollama would answer.
      return new ModelNotFoundError(unservedModelMessage(this.model, this.pool.knownModels() ?? []), {
        backendMessage: `model "${this.model}" not found, try pulling it first`,
      });
    }
    if (serving.every((target) => target.draining)) {
      return new BackendUnavailableError(`Every model server with '${this.model}' is draining (${serving.map((target) => target.name).join(', ')})`, {
        retryAfterSeconds: 5,
      });
    }
    return breakerOpenError(this.pool.retryAfterMs(this.model));
  }
}

/** Several targets were unreachable: one error naming each of them (`last`'s retry hint and cause). */
export function allUnreachable(errors: readonly BackendUnreachableError[], last: BackendUnreachableError): BackendUnreachableError {
  const messages = [...new Set(errors.map((error) => error.message))];
  return new BackendUnreachableError(messages.join(' '), { retryable: true, retryAfterSeconds: last.retryAfterSeconds, cause: last });
}

/** Every target for a model has its breaker open: the call is refused until the soonest tries again. */
export function breakerOpenError(retryAfterMs: number): BreakerOpenError {
  const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
  return new BreakerOpenError(`The model backend is failing; requests are paused for ${seconds} s (circuit breaker open)`, {
    retryAfterSeconds: seconds,
  });
}

/** A failure that says the server did not start on the request: another target may take it at once. */
function movesOn(failure: unknown): boolean {
  return failure instanceof BackendUnreachableError || failure instanceof BackendBusyError || failure instanceof ModelNotFoundError;
}
