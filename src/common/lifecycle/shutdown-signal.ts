import { Global, Injectable, Module } from '@nestjs/common';
import { Cancellation, CancelSignal } from '../async/cancellation';
import { BackendUnavailableError, ClientClosedError } from '../errors/app-errors';

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

  /**
   * What a stream that failed with `error` reports: when the shutdown ended it (its client had
   * not left), a 503 with Retry-After, so the client retries once Vega is back; else the error.
   */
  failureOf(error: unknown, client: CancelSignal): unknown {
    return this.active && !client.aborted ? new BackendUnavailableError('Vega is shutting down', { retryAfterSeconds: 5 }) : error;
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
