import {
  AppError,
  BackendBusyError,
  BackendUnavailableError,
  BackendUnreachableError,
  BreakerOpenError,
  ClientClosedError,
  ModelNotFoundError,
} from '../../../common/errors/app-errors';
import { unservedModelMessage } from '../model-availability';
import type { Deadline } from '../resilience/attempt';
import type { BreakerPermit } from '../resilience/circuit-breaker';
import type { Target } from './target';
import type { TargetPool } from './target-pool';

/** One attempt's target and its breaker's permission. */
export interface Leg {
  target: Target;
  permit: BreakerPermit;
}

export interface RoutePolicy {
  /** Retries after a failure that another target cannot take at once (`LLM_MAX_RETRIES`). */
  maxRetries: number;
  /** The wait before retry number `attempt` (from 0). */
  backoffMs(attempt: number): number;
}

/**
 * The targets one model call goes through, attempt by attempt. A failure that says the server
 * never started on the request (unreachable, busy, no such model) moves on to another target at
 * once, without counting as a retry; any other retryable failure waits the backoff and retries,
 * on another target when there is one. Only failures before anything reached the client are
 * handed here: after that an attempt is never repeated.
 */
export class Route {
  private readonly tried = new Set<Target>();
  private readonly unreachable: BackendUnreachableError[] = [];
  private retries = 0;
  private current?: Target;

  constructor(
    private readonly pool: TargetPool,
    private readonly model: string,
    private readonly deadline: Deadline,
    private readonly policy: RoutePolicy,
  ) {}

  /** The first attempt's target; `BreakerOpenError` when every target for the model refuses calls now. */
  first(): Leg {
    const leg = this.take(this.pool.pick(this.model));
    if (leg) return leg;
    throw this.noTarget();
  }

  /**
   * The next attempt's target after `failure`, waiting the backoff first when it is a retry;
   * throws the failure that ends the call (or what cut the wait short).
   */
  async next(failure: unknown): Promise<Leg> {
    if (this.current) this.tried.add(this.current);
    if (failure instanceof BackendUnreachableError) this.unreachable.push(failure);
    if (movesOn(failure)) {
      const leg = this.take(this.pool.pick(this.model, this.tried));
      if (leg) return leg;
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
    let leg = this.take(this.pool.pick(this.model, this.tried));
    if (!leg) {
      this.tried.clear();
      leg = this.take(this.pool.pick(this.model));
    }
    if (leg) return leg;
    throw this.finalFailure(failure);
  }

  private take(target: Target | undefined): Leg | undefined {
    if (!target) return undefined;
    const permit = target.breaker.acquire();
    if (!permit) return undefined;
    this.current = target;
    return { target, permit };
  }

  /** Every target tried was unreachable: say so of all of them, not only the last. */
  private finalFailure(failure: unknown): unknown {
    if (!(failure instanceof BackendUnreachableError) || this.unreachable.length < 2) return failure;
    const messages = [...new Set(this.unreachable.map((error) => error.message))];
    return new BackendUnreachableError(messages.join(' '), { retryable: true, retryAfterSeconds: failure.retryAfterSeconds, cause: failure });
  }

  private noTarget(): Error {
    const serving = this.pool.servingTargets(this.model);
    if (serving.length === 0) return new ModelNotFoundError(unservedModelMessage(this.model, this.pool.knownModels() ?? []));
    if (serving.every((target) => target.draining)) {
      return new BackendUnavailableError(`Every model server with '${this.model}' is draining (${serving.map((target) => target.name).join(', ')})`, {
        retryAfterSeconds: 5,
      });
    }
    return breakerOpenError(this.pool.retryAfterMs(this.model));
  }
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
