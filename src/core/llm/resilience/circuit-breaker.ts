export type BreakerState = 'closed' | 'open' | 'half_open';

export interface BreakerOptions {
  failThreshold: number;
  resetMs: number;
  now?: () => number;
}

/** Permission to make one call; report its outcome exactly once. */
export interface BreakerPermit {
  /** True when this call is the single half-open probe. */
  readonly probe: boolean;
  success(): void;
  failure(): void;
  /** The call ended without telling us anything about the backend (e.g. the client left). */
  release(): void;
}

/**
 * closed → open after `failThreshold` consecutive failures; open → half-open once `resetMs`
 * have passed, where exactly one probe call is let through: its success closes the breaker,
 * its failure opens it again for another `resetMs`.
 */
export class CircuitBreaker {
  private current: BreakerState = 'closed';
  private consecutiveFailures = 0;
  private openedAt = 0;
  private probeInFlight = false;
  private readonly now: () => number;
  private readonly listeners: ((state: BreakerState) => void)[] = [];

  constructor(private readonly options: BreakerOptions) {
    this.now = options.now ?? Date.now;
  }

  /** The state as a caller would see it now (an expired open breaker reads as half-open). */
  get state(): BreakerState {
    if (this.current === 'open' && this.now() - this.openedAt >= this.options.resetMs) return 'half_open';
    return this.current;
  }

  get failures(): number {
    return this.consecutiveFailures;
  }

  /** Milliseconds until a call may be tried again; 0 when one may be tried now. */
  retryAfterMs(): number {
    if (this.state === 'closed') return 0;
    if (this.current === 'open') return Math.max(0, this.openedAt + this.options.resetMs - this.now());
    return this.probeInFlight ? Math.max(1, this.options.resetMs) : 0;
  }

  /** Whether a call made now would be refused, without taking the half-open probe slot. */
  wouldRefuse(): boolean {
    const state = this.state;
    return state === 'open' || (state === 'half_open' && this.probeInFlight);
  }

  acquire(): BreakerPermit | null {
    const state = this.state;
    if (state === 'closed') return this.permit(false);
    if (state === 'open' || this.probeInFlight) return null;
    this.transition('half_open');
    this.probeInFlight = true;
    return this.permit(true);
  }

  reset(): void {
    this.consecutiveFailures = 0;
    this.probeInFlight = false;
    this.transition('closed');
  }

  onStateChange(listener: (state: BreakerState) => void): void {
    this.listeners.push(listener);
  }

  private permit(probe: boolean): BreakerPermit {
    let settled = false;
    const settle = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      if (probe) this.probeInFlight = false;
      outcome();
    };
    return {
      probe,
      success: () => settle(() => this.recordSuccess(probe)),
      failure: () => settle(() => this.recordFailure(probe)),
      release: () => settle(() => undefined),
    };
  }

  private recordSuccess(probe: boolean): void {
    if (probe || this.current === 'closed') {
      this.consecutiveFailures = 0;
      this.transition('closed');
    }
  }

  private recordFailure(probe: boolean): void {
    if (probe) return this.open();
    if (this.current !== 'closed') return;
    this.consecutiveFailures += 1;
    if (this.consecutiveFailures >= this.options.failThreshold) this.open();
  }

  private open(): void {
    this.openedAt = this.now();
    this.transition('open');
  }

  private transition(next: BreakerState): void {
    if (this.current === next) return;
    this.current = next;
    for (const listener of this.listeners) listener(next);
  }
}
