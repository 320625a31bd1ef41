import { BackendBusyError, BackendUnavailableError, ModelNotFoundError, QueueRefusedError } from '../../../common/errors/app-errors';
import type { Leg, Route } from './route';

/** The models one call may be served by: the one asked for, then its fallbacks (`fallbacks` of the routing settings) in turn. */
export function fallbackChain(model: string, fallbacks: Readonly<Record<string, readonly string[]>>): readonly string[] {
  const chain = fallbacks[model];
  return chain ? [model, ...chain.filter((next) => next !== model)] : [model];
}

/**
 * Whether a route that ended with `failure` (before anything reached the client) leaves the
 * model to its fallback: every target for it is down, open, draining or lacks it. Busy servers
 * and Vega's full queue are up (the request waits for them, or is told to come back, rather
 * than changing model); a timeout, a rejected request or an error of the server itself would
 * fail the same on another model.
 */
export function fallsBack(failure: unknown): boolean {
  if (failure instanceof BackendBusyError || failure instanceof QueueRefusedError) return false;
  return failure instanceof BackendUnavailableError || failure instanceof ModelNotFoundError;
}

/**
 * Whether the call may go to fallback `model` at all, asked before anything is sent to it (the
 * context guard: a prompt that cannot fit that model's context skips it); false skips the model.
 */
export type FallbackAdmission = (model: string) => Promise<boolean>;

/**
 * The routes of one call along a fallback chain: the requested model's route first; when it
 * ends with a failure that `fallsBack`, the next model's route (once `admits` it), and so on.
 * `model` is the model the current leg serves. When the whole chain fails, the failure thrown is
 * the first that says a model is unavailable now (a 503 tells the client to come back; the
 * requested model being unknown is reported only when no model of the chain is merely down),
 * else the first. A skipped model adds no failure: the client hears why the models it could
 * have used failed.
 */
export class FallbackRoute {
  private index = 0;
  private route: Route;
  private readonly failures: unknown[] = [];

  constructor(
    private readonly chain: readonly string[],
    private readonly routeFor: (model: string) => Route,
    private readonly admits: FallbackAdmission = async () => true,
  ) {
    this.route = routeFor(chain[0]);
  }

  /** The model the current leg serves. */
  get model(): string {
    return this.chain[this.index];
  }

  /** Whether a model other than the requested one serves the current leg. */
  get fellBack(): boolean {
    return this.index > 0;
  }

  /** The first attempt's leg, on the first model of the chain with a target that takes it (after a wait in its queue). */
  async first(): Promise<Leg> {
    try {
      return await this.route.first();
    } catch (error) {
      return this.fallBack(error);
    }
  }

  /** The next attempt's leg after `failure`: on the same model while its route goes on, then on the next model. */
  async next(failure: unknown): Promise<Leg> {
    try {
      return await this.route.next(failure);
    } catch (final) {
      return this.fallBack(final);
    }
  }

  private async fallBack(failure: unknown): Promise<Leg> {
    this.failures.push(failure);
    while (fallsBack(failure) && this.index + 1 < this.chain.length) {
      this.index += 1;
      if (!(await this.admits(this.model))) continue;
      this.route = this.routeFor(this.model);
      try {
        return await this.route.first();
      } catch (error) {
        failure = error;
        this.failures.push(error);
      }
    }
    throw this.finalFailure(failure);
  }

  private finalFailure(last: unknown): unknown {
    if (!fallsBack(last) || this.failures.length < 2) return last;
    return this.failures.find((failure) => failure instanceof BackendUnavailableError) ?? this.failures[0];
  }
}
