import type { LlmBackend } from '../llm-backend';
import type { TargetKind, TargetSettings, TargetTimeouts } from '../../../config/routing-settings';
import { BreakerOptions, CircuitBreaker } from '../resilience/circuit-breaker';

/**
 * One model server behind Vega: its adapter (which talks to this server only), its own circuit
 * breaker, and what routing knows of it — requests in flight, the models it has and has loaded,
 * whether an operator is draining it.
 */
export class Target {
  readonly name: string;
  readonly kind: TargetKind;
  readonly url: string;
  readonly weight: number;
  readonly maxConcurrency: number;
  readonly timeouts: TargetTimeouts;
  readonly breaker: CircuitBreaker;
  /** The models `BACKENDS_FILE` gives it: then its list is never asked for. */
  readonly configuredModels?: readonly string[];
  /** Requests sent to it and not finished. */
  inFlight = 0;
  /** Sends nothing new (what runs finishes): for maintenance. */
  draining = false;
  /** The models it serves (configured, or last discovered); undefined until known, when any model may be asked of it. */
  private served?: ReadonlySet<string>;
  /** The models it has in memory now (Ollama `/api/ps`), as last seen. */
  private inMemory: ReadonlySet<string> = new Set();

  constructor(
    settings: TargetSettings,
    readonly backend: LlmBackend,
    breaker: BreakerOptions,
  ) {
    this.name = settings.name;
    this.kind = settings.kind;
    this.url = settings.url;
    this.weight = settings.weight;
    this.maxConcurrency = settings.maxConcurrency;
    this.timeouts = settings.timeouts ?? {};
    this.breaker = new CircuitBreaker(breaker);
    if (settings.models) {
      this.configuredModels = settings.models;
      this.served = new Set(settings.models);
    }
  }

  /** Whether it may serve `model`: it lists it (`mistral` also matches `mistral:latest`), or its list is not known yet. */
  serves(model: string): boolean {
    return this.served === undefined || has(this.served, model);
  }

  /** Whether it has `model` in memory now (as last seen). */
  hasLoaded(model: string): boolean {
    return has(this.inMemory, model);
  }

  get models(): readonly string[] | undefined {
    return this.served && [...this.served];
  }

  get loadedModels(): readonly string[] {
    return [...this.inMemory];
  }

  /** What the server listed (`/api/tags`, `/v1/models`). */
  setModels(models: Iterable<string>): void {
    this.served = new Set(models);
  }

  /** What the server has in memory (`/api/ps`). */
  setLoaded(models: Iterable<string>): void {
    this.inMemory = new Set(models);
  }

  /** Whether it takes another request now without going past its max concurrency. */
  get hasRoom(): boolean {
    return this.maxConcurrency === 0 || this.inFlight < this.maxConcurrency;
  }

  /** How full it is: requests in flight over its max concurrency (in flight alone when it has none). */
  get load(): number {
    return this.maxConcurrency === 0 ? this.inFlight : this.inFlight / this.maxConcurrency;
  }

  /** Whether a call to it now would be sent: not draining, and its breaker lets calls through. */
  get available(): boolean {
    return !this.draining && !this.breaker.wouldRefuse();
  }

  /** Counts a request in flight until the returned function is called (once). */
  begin(): () => void {
    this.inFlight += 1;
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      this.inFlight -= 1;
    };
  }
}

function has(models: ReadonlySet<string>, model: string): boolean {
  return models.has(model) || (!model.includes(':') && models.has(`${model}:latest`));
}
