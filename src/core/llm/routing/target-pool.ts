import { ModelNotFoundError } from '../../../common/errors/app-errors';
import { OllamaBackend } from '../backends/ollama/ollama.backend';
import type { ModelDetails, OllamaHosts } from '../llm-backend';
import type { BreakerState } from '../resilience/circuit-breaker';
import { OllamaCatalog } from './ollama-catalog';
import { resolveAlias, StrategyName } from '../../../config/routing-settings';
import { FairQueue, QueueCaller, QueueSettings } from './fair-queue';
import { Strategy, strategyOf } from './strategies';
import type { Target } from './target';

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
  private readonly choose: Strategy;
  private readonly catalog?: OllamaCatalog;

  constructor(
    readonly targets: readonly Target[],
    readonly strategy: StrategyName,
    queue: { settings?: QueueSettings; caller?: () => QueueCaller | undefined } = {},
    /** Other names for models (`fast` → `llama3.2`), from `BACKENDS_FILE`. */
    readonly aliases: Readonly<Record<string, string>> = {},
  ) {
    if (targets.length === 0) throw new Error('a target pool needs at least one target');
    this.choose = strategyOf(strategy);
    this.queue = new FairQueue(this, queue.settings ?? DEFAULT_QUEUE, queue.caller);
    const ollama = targets.map((target) => target.backend).filter((backend) => backend instanceof OllamaBackend);
    this.catalog = ollama.length > 0 ? new OllamaCatalog(ollama) : undefined;
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
