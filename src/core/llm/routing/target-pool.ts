import { ModelNotFoundError } from '../../../common/errors/app-errors';
import { OllamaBackend } from '../backends/ollama/ollama.backend';
import type { ModelDetails, OllamaHosts } from '../llm-backend';
import type { BreakerState } from '../resilience/circuit-breaker';
import { OllamaCatalog } from './ollama-catalog';
import { resolveAlias, StrategyName, TargetSettings } from '../../../config/routing-settings';
import { FairQueue, QueueCaller, QueueSettings } from './fair-queue';
import { Strategy, strategyOf } from './strategies';
import type { Target } from './target';

/** What a reload of `BACKENDS_FILE` gives the pool: the targets' settings, the strategy, aliases and fallbacks. */
export interface PoolSettings {
  targets: readonly TargetSettings[];
  strategy: StrategyName;
  aliases: Readonly<Record<string, string>>;
  fallbacks: Readonly<Record<string, readonly string[]>>;
}

/** What a reload did, by target name. */
export interface PoolChanges {
  added: string[];
  removed: string[];
  changed: string[];
}

/** `QUEUE_MAX_LENGTH`, `QUEUE_MAX_WAIT_SEC` by default. */
const DEFAULT_QUEUE: QueueSettings = { maxLength: 1_000, maxWaitMs: 30_000 };

/**
 * Every model server behind Vega and the choice among them. `LlmService` asks for a target per
 * attempt: one that serves the model, is not draining, whose breaker lets calls through and
 * that has room (below its max concurrency) when one has; among those, the strategy picks.
 * Listings that span servers (models, details, Ollama's own listings) are answered here.
 */
export class TargetPool {
  /** Where requests wait when every target for their model is at its max concurrency. */
  readonly queue: FairQueue;
  private current: Target[];
  private choose: Strategy;
  private catalog?: OllamaCatalog;
  private readonly targetListeners: ((target: Target) => void)[] = [];

  constructor(
    targets: readonly Target[],
    private strategyName: StrategyName,
    queue: { settings?: QueueSettings; caller?: () => QueueCaller | undefined } = {},
    /** Other names for models (`fast` → `llama3.2`), from `BACKENDS_FILE`. */
    private aliasMap: Readonly<Record<string, string>> = {},
    /** The models tried in turn when a model's targets cannot serve it, from `BACKENDS_FILE`. */
    private fallbackMap: Readonly<Record<string, readonly string[]>> = {},
  ) {
    if (targets.length === 0) throw new Error('a target pool needs at least one target');
    this.current = [...targets];
    this.choose = strategyOf(strategyName);
    this.catalog = catalogOf(this.current);
    this.queue = new FairQueue(this, queue.settings ?? DEFAULT_QUEUE, queue.caller);
  }

  /** The targets now, in configuration order (a reload may change them). */
  get targets(): readonly Target[] {
    return this.current;
  }

  get strategy(): StrategyName {
    return this.strategyName;
  }

  get aliases(): Readonly<Record<string, string>> {
    return this.aliasMap;
  }

  get fallbacks(): Readonly<Record<string, readonly string[]>> {
    return this.fallbackMap;
  }

  /** Calls `listener` with every target, those there now and those a reload adds. */
  onTarget(listener: (target: Target) => void): void {
    this.targetListeners.push(listener);
    for (const target of this.current) listener(target);
  }

  /**
   * Applies a reloaded `BACKENDS_FILE`: a target whose server is the same (kind, URL, key) keeps
   * its breaker, counts and stats and takes its new weight, max concurrency, timeouts and models;
   * a new one is made by `make`; one no longer listed takes nothing new, and its connections are
   * closed once what runs on it has finished.
   */
  reload(settings: PoolSettings, make: (settings: TargetSettings) => Target): PoolChanges {
    if (settings.targets.length === 0) throw new Error('a target pool needs at least one target');
    const changes: PoolChanges = { added: [], removed: [], changed: [] };
    const added: Target[] = [];
    const next = settings.targets.map((each) => {
      const known = this.find(each.name);
      if (known?.sameServer(each)) {
        if (viewOf(known) !== viewOf(each)) changes.changed.push(each.name);
        known.update(each);
        return known;
      }
      const made = make(each);
      (known ? changes.changed : changes.added).push(each.name);
      added.push(made);
      return made;
    });
    const gone = this.current.filter((target) => !next.includes(target));
    for (const target of gone) if (next.every((each) => each.name !== target.name)) changes.removed.push(target.name);
    this.current = next;
    this.strategyName = settings.strategy;
    this.choose = strategyOf(settings.strategy);
    this.aliasMap = settings.aliases;
    this.fallbackMap = settings.fallbacks;
    this.catalog = catalogOf(next);
    for (const target of added) for (const listener of this.targetListeners) listener(target);
    for (const target of gone) closeWhenIdle(target);
    // Room may have come with the new settings (a higher max concurrency, a new target).
    for (const target of next) this.queue.offer(target);
    return changes;
  }

  /** The kind of the first target (`ollama`, `openai`): what messages about "the backend" name. */
  get kind(): string {
    return this.targets[0].kind;
  }

  /** The model `model` names: an alias followed to the end of its chain, any other name as it is. */
  resolve(model: string): string {
    return resolveAlias(this.aliases, model);
  }

  /**
   * What the catalogue offers as far as the targets' lists are known (configured or
   * discovered), each name once and sorted, aliases included; null while a list is unknown.
   */
  knownModels(): string[] | null {
    const names = new Set<string>();
    for (const target of this.targets) {
      const models = target.models;
      if (!models) return null;
      for (const name of models) names.add(name);
    }
    for (const alias of Object.keys(this.aliases)) if (this.servingTargets(this.resolve(alias)).length > 0) names.add(alias);
    return [...names].sort((a, b) => a.localeCompare(b));
  }

  find(name: string): Target | undefined {
    return this.targets.find((target) => target.name === name);
  }

  /**
   * The target for the next attempt at `model`, other than those `tried`; undefined when none
   * can take it (none serves it, or every one that does is draining or open).
   */
  pick(model: string, tried?: ReadonlySet<Target>): Target | undefined {
    const candidates: Target[] = [];
    let roomy = 0;
    for (const target of this.targets) {
      if (tried?.has(target) || !target.available || !target.serves(model)) continue;
      candidates.push(target);
      if (target.hasRoom) roomy += 1;
    }
    if (candidates.length === 0) return undefined;
    if (candidates.length === 1) return candidates[0];
    // Every one full: one of them all (the route then waits in Vega's queue for a place).
    return this.choose(roomy === candidates.length || roomy === 0 ? candidates : candidates.filter((target) => target.hasRoom), model);
  }

  /** The targets that serve `model` (as far as known), in configuration order. */
  servingTargets(model: string): Target[] {
    return this.targets.filter((target) => target.serves(model));
  }

  /**
   * Whether a call for `model` made now would be refused by breakers: some target serves it and
   * every one that does (not draining) has its breaker refusing.
   */
  refuses(model: string): boolean {
    const serving = this.servingTargets(model).filter((target) => !target.draining);
    return serving.length > 0 && serving.every((target) => target.breaker.wouldRefuse());
  }

  /** Milliseconds until a target for `model` whose breaker is open may be tried again (the soonest). */
  retryAfterMs(model: string): number {
    const waits = this.servingTargets(model).map((target) => target.breaker.retryAfterMs());
    return waits.length > 0 ? Math.min(...waits) : 0;
  }

  /**
   * The breakers taken together: closed while any target's is, half-open while any may be
   * probed, open when all are.
   */
  breakerState(): BreakerState {
    const states = this.targets.map((target) => target.breaker.state);
    if (states.includes('closed')) return 'closed';
    return states.includes('half_open') ? 'half_open' : 'open';
  }

  /** The first target's version that answers (in order); the first failure when none does. */
  async version(signal: AbortSignal): Promise<string> {
    let first: unknown;
    for (const target of this.targets) {
      try {
        return await target.backend.version(signal);
      } catch (error) {
        if (signal.aborted) throw error;
        first ??= error;
      }
    }
    throw first;
  }

  /** What the first target that has `model` (in order) says of it; `ModelNotFoundError` when none has. */
  async showModel(model: string, signal?: AbortSignal): Promise<ModelDetails> {
    let notFound: unknown;
    let other: unknown;
    for (const target of this.servingTargets(model)) {
      try {
        return await target.backend.showModel(model, signal);
      } catch (error) {
        if (signal?.aborted) throw error;
        if (error instanceof ModelNotFoundError) notFound ??= error;
        else other ??= error;
      }
    }
    throw notFound ?? other ?? new ModelNotFoundError(`model '${model}' not found`);
  }

  /** Every Ollama target's own listings merged (Vega's `/api/tags`, `/api/ps`, `/api/show`); none without Ollama targets. */
  ollamaHosts(): OllamaHosts | undefined {
    return this.catalog;
  }

  async close(): Promise<void> {
    await Promise.all(this.targets.map((target) => target.backend.close()));
  }
}

function catalogOf(targets: readonly Target[]): OllamaCatalog | undefined {
  const ollama = targets.map((target) => target.backend).filter((backend) => backend instanceof OllamaBackend);
  return ollama.length > 0 ? new OllamaCatalog(ollama) : undefined;
}

/** What `update()` changes of a target, to tell a changed one from one left as it was. */
function viewOf(target: Pick<TargetSettings, 'weight' | 'maxConcurrency' | 'timeouts'> & { models?: readonly string[]; configuredModels?: readonly string[] }): string {
  const models = 'configuredModels' in target ? target.configuredModels : target.models;
  return JSON.stringify([target.weight, target.maxConcurrency, target.timeouts ?? {}, models ?? null]);
}

/** A target taken out of the pool: its connections close when its last request in flight ends. */
function closeWhenIdle(target: Target): void {
  const close = () => void target.backend.close().catch(() => undefined);
  if (target.inFlight === 0) return close();
  target.onRelease(() => target.inFlight === 0 && close());
}
