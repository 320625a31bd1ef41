/**
 * The model servers behind Vega and how requests are spread over them (`core/llm/routing`):
 * from `BACKENDS_FILE`, or for the simple case from `OLLAMA_URL` / `OPENAI_BASE_URL`.
 */

export type TargetKind = 'ollama' | 'openai';

export type StrategyName = 'loaded-first' | 'least-busy' | 'weighted' | 'priority';

export const STRATEGY_NAMES: readonly StrategyName[] = ['loaded-first', 'least-busy', 'weighted', 'priority'];

/** A target's own timeouts, in place of `LLM_*_TIMEOUT_SEC` for requests it serves. */
export interface TargetTimeouts {
  totalMs?: number;
  firstTokenMs?: number;
  idleMs?: number;
}

/** One model server. */
export interface TargetSettings {
  /** Unique; what logs, metrics, admin routes and stored exchanges call it. */
  name: string;
  kind: TargetKind;
  /** Base URL (`http://gpu-1:11434`; an OpenAI-compatible server's includes its prefix, `…/v1`). */
  url: string;
  /** Sent as a bearer token to an OpenAI-compatible server; a secret. */
  apiKey?: string;
  /** Share of the traffic under the `weighted` strategy (relative to the other targets' weights). */
  weight: number;
  /** Requests it is given at once; 0: no limit (the server queues them itself). */
  maxConcurrency: number;
  /** The models it serves, when configured; otherwise discovered from the server. */
  models?: readonly string[];
  timeouts?: TargetTimeouts;
}

export interface RoutingSettings {
  targets: readonly TargetSettings[];
  /** `ROUTING_STRATEGY`, or the file's `strategy`. */
  strategy: StrategyName;
  /** Another name for a model (`fast` → `llama3.2`); resolved before routing. */
  aliases: Readonly<Record<string, string>>;
  /** The models tried in turn, before the first token, when a model's targets cannot serve it. */
  fallbacks: Readonly<Record<string, readonly string[]>>;
  /**
   * Vega's queue when every target for a model is full: `QUEUE_MAX_LENGTH` requests per model,
   * each waiting at most `QUEUE_MAX_WAIT_SEC`.
   */
  queue: { maxLength: number; maxWaitMs: number };
  /** `MODELS_REFRESH_SEC`: how often each target's model list is asked for. */
  discoveryIntervalMs: number;
  /** `LOADED_POLL_SEC`: how often Ollama targets are asked what they have loaded (`/api/ps`). */
  loadedPollIntervalMs: number;
  /** `BACKENDS_FILE`, when the targets came from one. */
  file?: string;
}

/**
 * The targets today's variables describe: one per host of the list (`OLLAMA_URL`, or
 * `OPENAI_BASE_URL` with `LLM_BACKEND=openai`), named `host:port`, equal weights, no
 * concurrency limit, models discovered.
 */
export function targetsFromUrls(kind: TargetKind, urls: readonly string[], apiKey?: string): TargetSettings[] {
  const names = new Map<string, number>();
  return urls.map((url) => {
    const host = new URL(url).host;
    const seen = (names.get(host) ?? 0) + 1;
    names.set(host, seen);
    return {
      name: seen === 1 ? host : `${host}-${seen}`,
      kind,
      url,
      ...(kind === 'openai' && apiKey ? { apiKey } : {}),
      weight: 1,
      maxConcurrency: 0,
    };
  });
}

/**
 * What `name` stands for: an alias followed to the model at the end of its chain (`coder` →
 * `code` → `qwen2.5-coder:7b`); any other name is itself. The file's check refuses loops.
 */
export function resolveAlias(aliases: Readonly<Record<string, string>>, name: string): string {
  let model = name;
  for (let hops = 0; Object.hasOwn(aliases, model) && hops <= Object.keys(aliases).length; hops += 1) model = aliases[model];
  return model;
}

/** Fallback chains with aliases resolved, on either side (`fast: [coder]` is `llama3.2: [qwen2.5:32b]`): requests are routed by model. */
export function resolveFallbacks(
  fallbacks: Readonly<Record<string, readonly string[]>>,
  aliases: Readonly<Record<string, string>>,
): Record<string, string[]> {
  return Object.fromEntries(Object.entries(fallbacks).map(([model, chain]) => [resolveAlias(aliases, model), chain.map((next) => resolveAlias(aliases, next))]));
}
