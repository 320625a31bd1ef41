import { AsyncLocalStorage } from 'node:async_hooks';
import { Global, Injectable, Module } from '@nestjs/common';
import type { Principal } from './principal';

/**
 * The principal of the request being served, wherever its work runs: the storage layer records
 * the key that made an exchange and the limits charge it, without every lane handing it down.
 * The HTTP app enters it once the key is accepted (`CallerContextInterceptor`); the CLI runs
 * without one (its exchanges belong to no key).
 */
@Injectable()
export class CallerContext {
  private readonly storage = new AsyncLocalStorage<Principal>();

  current(): Principal | undefined {
    return this.storage.getStore();
  }

  /** Runs `work` (and everything it starts) as `principal`. */
  run<T>(principal: Principal, work: () => T): T {
    return this.storage.run(principal, work);
  }
}

/** One `CallerContext` for the whole graph: the HTTP app's interceptor and the core services share it. */
@Global()
@Module({ providers: [CallerContext], exports: [CallerContext] })
export class CallerContextModule {}
