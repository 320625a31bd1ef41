import { Global, Injectable, Module } from '@nestjs/common';

/**
 * Aborted when the process starts shutting down. Long-lived work that would hold the shutdown
 * up — open SSE streams — listens to it and ends itself; ordinary requests are left to finish.
 */
@Injectable()
export class ShutdownSignal {
  private readonly controller = new AbortController();

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get active(): boolean {
    return this.controller.signal.aborted;
  }

  begin(): void {
    this.controller.abort();
  }
}

/** HTTP-only: imported by the HTTP root module, so the CLI has no shutdown signal to honour. */
@Global()
@Module({ providers: [ShutdownSignal], exports: [ShutdownSignal] })
export class ShutdownModule {}
