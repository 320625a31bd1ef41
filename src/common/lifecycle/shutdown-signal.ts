import { Global, Injectable, Module } from '@nestjs/common';
import { Cancellation, CancelSignal } from '../async/cancellation';
import { ClientClosedError } from '../errors/app-errors';

/**
 * Fires when the process starts shutting down. Long-lived work that would hold the shutdown
 * up — open SSE streams — listens to it and ends itself; ordinary requests are left to finish.
 * Every open stream adds a listener, so it is a `Cancellation`: an `AbortSignal` warns about a
 * leak past ten listeners.
 */
@Injectable()
export class ShutdownSignal {
  private readonly cancellation = new Cancellation();

  get signal(): CancelSignal {
    return this.cancellation;
  }

  get active(): boolean {
    return this.cancellation.aborted;
  }

  begin(): void {
    // The streams it ends are treated as if their client had left: stored as aborted.
    this.cancellation.abort(new ClientClosedError());
  }
}

/** HTTP-only: imported by the HTTP root module, so the CLI has no shutdown signal to honour. */
@Global()
@Module({ providers: [ShutdownSignal], exports: [ShutdownSignal] })
export class ShutdownModule {}
