import { Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';

/** How often the monitor's timer is due; how late it fires is the loop's delay. */
const TICK_MS = 100;
/** The loop counts as unresponsive after being blocked this long at a stretch. */
export const MAX_EVENT_LOOP_DELAY_MS = 1_000;
const WINDOW_MS = 5_000;

/**
 * Event-loop delay for liveness: the longest a 100-ms timer fired late, over the current and the
 * previous 5-s window. A loop blocked for more than a second at a stretch answers `/livez` with
 * 503 for the next 5 to 10 s, so a liveness probe that needs several failures in a row
 * (Kubernetes: 3) restarts a process that keeps blocking, not one that blocked once. Measured
 * from the end of the start-up. (Node's `monitorEventLoopDelay` drops the first delay after each
 * `reset()`, which loses exactly the block that ends a window.)
 */
@Injectable()
export class EventLoopMonitor implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer?: NodeJS.Timeout;
  private lastTick = 0;
  private windowStart = 0;
  private currentMax = 0;
  private previousMax = 0;

  onApplicationBootstrap(): void {
    this.lastTick = this.windowStart = performance.now();
    this.timer = setInterval(() => this.tick(), TICK_MS);
    this.timer.unref();
  }

  /** The longest delay in the last 5 to 10 s, in milliseconds, counting a tick that is overdue now. */
  maxDelayMs(): number {
    const overdue = Math.max(0, performance.now() - this.lastTick - TICK_MS);
    return Math.round(Math.max(this.currentMax, this.previousMax, overdue) * 100) / 100;
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  private tick(): void {
    const now = performance.now();
    const delay = Math.max(0, now - this.lastTick - TICK_MS);
    this.lastTick = now;
    if (now - this.windowStart >= WINDOW_MS) {
      this.previousMax = this.currentMax;
      this.currentMax = 0;
      this.windowStart = now;
    }
    if (delay > this.currentMax) this.currentMax = delay;
  }
}
