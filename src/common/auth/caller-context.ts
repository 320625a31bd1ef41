import { AsyncLocalStorage } from 'node:async_hooks';
import { Global, Injectable, Module } from '@nestjs/common';
import type { Lane } from '../http/lane';
import type { Principal } from './principal';

/** Who is calling, and through which API dialect. */
export interface Caller {
  principal: Principal;
  lane: Lane;
  /** Told the request's place in Vega's queue while it waits for a model server (set by a stream that can show it). */
  onQueued?: (position: number) => void;
  /** Told the model and target that serve the request (the HTTP app puts them in the response headers). */
  served?: (model: string, target?: string) => void;
}

/** One store for every graph: a request runs in its own `run()`, and the static hook below needs no instance. */
const callers = new AsyncLocalStorage<Caller>();

/**
 * The caller of the request being served, wherever its work runs: the storage layer records
 * the key that made an exchange, the limits charge it and the metrics count its lane, without
 * every lane handing it down. The HTTP app enters it once the key is accepted
 * (`CallerContextInterceptor`); the CLI runs without one (its exchanges belong to no key).
 */
@Injectable()
export class CallerContext {
  private readonly storage = callers;

  /**
   * Tells `listener` the place of the request being served in Vega's queue, while it waits
   * (the SSE stream writes it as a comment); returns the function that stops it. Nothing
   * outside a request.
   */
  static onQueued(listener: (position: number) => void): () => void {
    const caller = callers.getStore();
    if (!caller) return () => undefined;
    caller.onQueued = listener;
    return () => {
      if (caller.onQueued === listener) caller.onQueued = undefined;
    };
  }

  /** The calling key's principal; undefined outside a request (the CLI, background work). */
  current(): Principal | undefined {
    return this.storage.getStore()?.principal;
  }

  /** The lane of the request being served; undefined outside a request. */
  lane(): Lane | undefined {
    return this.storage.getStore()?.lane;
  }

  /** Who hears the request's place in Vega's queue (`onQueued`); undefined when nobody does. */
  queueListener(): ((position: number) => void) | undefined {
    return this.storage.getStore()?.onQueued;
  }

  /** Says which model and target (none: the cache) serve the request being served; nothing outside a request. */
  served(model: string, target?: string): void {
    this.storage.getStore()?.served?.(model, target);
  }

  /** Runs `work` (and everything it starts) as `caller`. */
  run<T>(caller: Caller, work: () => T): T {
    return this.storage.run(caller, work);
  }
}

/** One `CallerContext` for the whole graph: the HTTP app's interceptor and the core services share it. */
@Global()
@Module({ providers: [CallerContext], exports: [CallerContext] })
export class CallerContextModule {}
