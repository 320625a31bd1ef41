import type { LlmBackend } from '../llm-backend';
import type { TargetKind, TargetSettings, TargetTimeouts } from '../../../config/routing-settings';
import type { AttemptLimits } from '../resilience/attempt';
import { BreakerOptions, BreakerPermit, CircuitBreaker } from '../resilience/circuit-breaker';
import type { TargetHealth } from './backend-status';
import type { SharedSlots } from './shared-slots';
import { TargetStats } from './target-stats';

/** How long a target whose places the other instances hold counts as full before its shared count is asked again. */
const FULL_ELSEWHERE_RECHECK_MS = 100;

/**
 * One model server behind Vega: its adapter (which talks to this server only), its own circuit
 * breaker, and what routing knows of it — requests in flight, the models it has and has loaded,
 * whether an operator is draining it.
 */
export class Target {
  readonly name: string;
  readonly kind: TargetKind;
  readonly url: string;
  readonly breaker: CircuitBreaker;
  /** What a reload of `BACKENDS_FILE` may change in place (`update()`); the rest makes a new target. */
  weight!: number;
  maxConcurrency!: number;
  timeouts!: TargetTimeouts;
  /** The models `BACKENDS_FILE` gives it: then its list is never asked for. */
  configuredModels?: readonly string[];
  /** Its attempts' outcomes and recent latency (admin views). */
  readonly stats = new TargetStats();
  /** Requests sent to it and not finished. */
  inFlight = 0;
  /** Sends nothing new (what runs finishes): for maintenance. */
  draining = false;
  /** What its last health probe found; undefined before the first. */
  health?: TargetHealth;
  /** The models it serves (configured, or last discovered); undefined until known, when any model may be asked of it. */
  private served?: ReadonlySet<string>;
  /** The models it has in memory now (Ollama `/api/ps`), as last seen. */
  private inMemory: ReadonlySet<string> = new Set();
  private readonly releaseListeners: (() => void)[] = [];
  /** Until when the other instances hold every place on it (as their shared count last said). */
  private fullElsewhereUntil = 0;
  private recheck?: NodeJS.Timeout;
  private readonly apiKey?: string;

  constructor(
    settings: TargetSettings,
    readonly backend: LlmBackend,
    breaker: BreakerOptions,
    /** Its places counted with the other instances' (with `REDIS_URL`); absent, this instance's count alone. */
    private readonly shared?: SharedSlots,
  ) {
    this.name = settings.name;
    this.kind = settings.kind;
    this.url = settings.url;
    this.apiKey = settings.apiKey;
    this.breaker = new CircuitBreaker(breaker);
    this.update(settings);
  }

  /** Whether `settings` name the same server the same way (kind, URL, key): then `update()` applies them in place. */
  sameServer(settings: TargetSettings): boolean {
    return settings.kind === this.kind && settings.url === this.url && settings.apiKey === this.apiKey;
  }

  /** Its weight, max concurrency, timeouts and configured models from `settings` (a reload); what runs on it is unaffected. */
  update(settings: TargetSettings): void {
    this.weight = settings.weight;
    this.maxConcurrency = settings.maxConcurrency;
    this.timeouts = settings.timeouts ?? {};
    // Models no longer configured are discovered again; until then any model may be asked of it.
    if (settings.models) this.served = new Set(settings.models);
    else if (this.configuredModels) this.served = undefined;
    this.configuredModels = settings.models;
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

  /** It just answered with `model`: the model is in its memory now (until the next `/api/ps` says otherwise). */
  markLoaded(model: string): void {
    if (!has(this.inMemory, model)) this.inMemory = new Set(this.inMemory).add(model);
  }

  /** The timeouts of an attempt on it: its own where it has them, `defaults` (`LLM_*_TIMEOUT_SEC`) otherwise. */
  limits(defaults: AttemptLimits): AttemptLimits {
    const { totalMs, firstTokenMs, idleMs } = this.timeouts;
    return {
      timeoutMs: totalMs ?? defaults.timeoutMs,
      firstTokenTimeoutMs: firstTokenMs ?? defaults.firstTokenTimeoutMs,
      idleTimeoutMs: idleMs ?? defaults.idleTimeoutMs,
    };
  }

  /** Whether it takes another request now without going past its max concurrency. */
  get hasRoom(): boolean {
    return this.maxConcurrency === 0 || (this.inFlight < this.maxConcurrency && performance.now() >= this.fullElsewhereUntil);
  }

  /** How full it is: requests in flight over its max concurrency (in flight alone when it has none). */
  get load(): number {
    return this.maxConcurrency === 0 ? this.inFlight : this.inFlight / this.maxConcurrency;
  }

  /** Whether a call to it now would be sent: not draining, and its breaker lets calls through. */
  get available(): boolean {
    return !this.draining && !this.breaker.wouldRefuse();
  }

  /**
   * Its breaker's permission for one attempt (null when refused), which also records the
   * attempt's outcome and duration in `stats`.
   */
  acquire(): BreakerPermit | null {
    const permit = this.breaker.acquire();
    if (!permit) return null;
    const stats = this.stats;
    const startedAt = performance.now();
    // Counted once, as the breaker counts a permit once.
    let settled = false;
    const once = (record: () => void) => () => {
      if (!settled) record();
      settled = true;
    };
    return {
      probe: permit.probe,
      success: once(() => {
        stats.success(performance.now() - startedAt);
        permit.success();
      }),
      failure: once(() => {
        stats.failure();
        permit.failure();
      }),
      release: once(() => permit.release()),
    };
  }

  /** Counts a request in flight until the returned function is called (once). */
  begin(): () => void {
    this.inFlight += 1;
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      this.inFlight -= 1;
      // Its shared place was given back with it: one is free across instances now.
      this.fullElsewhereUntil = 0;
      this.notifyRelease();
    };
  }

  private notifyRelease(): void {
    for (const listener of this.releaseListeners) listener();
  }

  /**
   * Its place counted with the other instances' (only when it has a max concurrency and they
   * share counts: otherwise no round trip): the function that gives it back, or null when they
   * hold every place. Then it counts as full for a moment, and its waiters are offered it again.
   */
  async claimShared(): Promise<(() => void) | null> {
    if (this.maxConcurrency === 0 || !this.shared) return noop;
    const release = await this.shared.claim(this.name, this.maxConcurrency);
    if (release) return release;
    this.fullElsewhereUntil = performance.now() + FULL_ELSEWHERE_RECHECK_MS;
    if (!this.recheck) {
      this.recheck = setTimeout(() => {
        this.recheck = undefined;
        this.fullElsewhereUntil = 0;
        this.notifyRelease();
      }, FULL_ELSEWHERE_RECHECK_MS);
      this.recheck.unref();
    }
    return null;
  }

  /** Calls `listener` each time a request it had in flight ends (a place frees: Vega's queue hands it on). */
  onRelease(listener: () => void): void {
    this.releaseListeners.push(listener);
  }
}

const noop = (): void => undefined;

/** `mistral` and `mistral:latest` are one model (Ollama's default tag), whichever way either side names it. */
function has(models: ReadonlySet<string>, model: string): boolean {
  if (models.has(model)) return true;
  if (!model.includes(':')) return models.has(`${model}:latest`);
  return model.endsWith(':latest') && models.has(model.slice(0, -':latest'.length));
}
