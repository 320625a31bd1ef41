import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LoggerService } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { hangupMeaning } from '../common/lifecycle/hangup';
import { ShutdownSignal } from '../common/lifecycle/shutdown-signal';

/**
 * SIGTERM/SIGINT (and SIGHUP when the process has a terminal that hung up, see `hangupMeaning`)
 * → a graceful stop, then exit code 0:
 * 1. stop accepting: the listening socket closes, idle keep-alive connections are closed, and a new
 *    request on a connection still open gets 503 with `Connection: close`;
 * 2. open SSE streams end at once with `event: error` "server shutting down", are stored as
 *    `aborted`, and their upstream requests are cancelled (see `ShutdownSignal`);
 * 3. other requests in flight may finish for up to `graceMs`; after that their connections are
 *    closed, which cancels their upstream requests (chat exchanges are then stored as `aborted`);
 * 4. Nest's shutdown hooks run: queued rows are written, the backend's connections released, the
 *    SQLite database closed (which checkpoints the WAL and removes the -wal file).
 * A second signal during the shutdown exits at once with code 1.
 */
export class GracefulShutdown {
  private readonly server: Server;
  private inFlight = 0;
  private drained?: () => void;
  private started = false;

  // One listener pair for all requests: nothing is allocated per request.
  private readonly onResponseClose = (): void => {
    this.inFlight -= 1;
    if (this.inFlight === 0) this.drained?.();
  };

  private readonly onRequest = (_req: IncomingMessage, res: ServerResponse): void => {
    this.inFlight += 1;
    res.on('close', this.onResponseClose);
  };

  constructor(
    private readonly app: NestFastifyApplication,
    private readonly graceMs: number,
    private readonly logger: LoggerService,
  ) {
    this.server = app.getHttpServer() as Server;
    this.server.on('request', this.onRequest);
  }

  /** Listens for SIGTERM and SIGINT (and SIGHUP on a terminal); `exit` ends the process once the shutdown settled. */
  listen(exit: (code: number) => void = (code) => process.exit(code)): void {
    const onSignal = (signal: NodeJS.Signals) => {
      if (this.started) {
        this.logger.warn(`Received ${signal} again during the shutdown: exiting now`, 'Shutdown');
        exit(1);
        return;
      }
      this.run(signal).then(
        () => exit(0),
        (error: unknown) => {
          this.logger.error(`Shutdown failed: ${error instanceof Error ? error.stack : String(error)}`, 'Shutdown');
          exit(1);
        },
      );
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    // Without a terminal, SIGHUP reloads the backends file (`BackendsReloadService`).
    if (hangupMeaning() === 'shutdown') process.on('SIGHUP', onSignal);
  }

  async run(signal: string): Promise<void> {
    this.started = true;
    const inFlight = this.inFlight;
    this.logger.log(`Received ${signal}: shutting down (${inFlight} request(s) in flight, up to ${this.graceMs / 1000} s)`, 'Shutdown');
    // Nest's Fastify adapter answers 503 with Connection: close to requests that arrive from now on.
    (this.app.getHttpAdapter() as unknown as { beforeClose?: () => void }).beforeClose?.();
    this.server.close();
    this.app.get(ShutdownSignal).begin();
    const drained = await this.drain();
    if (!drained) {
      this.logger.warn(`${this.inFlight} request(s) still running after ${this.graceMs / 1000} s: closing their connections`, 'Shutdown');
      this.server.closeAllConnections();
      // The handlers of the cut requests record their exchanges as aborted a few turns later.
      await sleep(100);
    }
    await this.app.close();
    this.logger.log('Shutdown complete', 'Shutdown');
  }

  /** Resolves true once no request is in flight, false when the grace period ran out first. */
  private drain(): Promise<boolean> {
    if (this.inFlight === 0) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        this.drained = undefined;
        resolve(false);
      }, this.graceMs);
      this.drained = () => {
        clearTimeout(timer);
        this.drained = undefined;
        // Connections whose response just finished are idle now: close them.
        this.server.closeIdleConnections();
        resolve(true);
      };
    });
  }
}
