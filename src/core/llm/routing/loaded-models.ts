import { Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { AppConfig } from '../../../config/app-config';
import { HostDownError, OllamaBackend } from '../backends/ollama/ollama.backend';
import type { Target } from './target';
import { TargetPool } from './target-pool';

/** The longest one `/api/ps` may take, whatever the interval. */
const MAX_POLL_TIMEOUT_MS = 5_000;

/**
 * What each Ollama target has in memory, for `loaded-first`: at start and every
 * `LOADED_POLL_SEC`, each Ollama target's `/api/ps` (all at once). Between polls every answer
 * marks its model loaded on the target that gave it (`LlmService`), so a model loaded by a
 * request counts at once. A server that cannot be reached has nothing loaded (a restarted
 * Ollama starts empty); one that answers badly or slowly keeps what was last seen.
 * OpenAI-compatible servers have no such listing: nothing is polled for them. Nothing is polled
 * either when it would choose nothing: a single target, or another strategy.
 */
@Injectable()
export class LoadedModels implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly stopped = new AbortController();
  private timer?: NodeJS.Timeout;
  private polling?: Promise<void>;

  constructor(
    private readonly pool: TargetPool,
    private readonly config: AppConfig,
  ) {}

  /** The Ollama targets, as the pool has them now (a reload may change them). */
  private get ollama(): { target: Target; backend: OllamaBackend }[] {
    return this.pool.targets.flatMap((target) => (target.backend instanceof OllamaBackend ? [{ target, backend: target.backend }] : []));
  }

  /** Only loaded-first routing among several targets asks what they have loaded. */
  private get needed(): boolean {
    return this.pool.targets.length > 1 && this.pool.strategy === 'loaded-first' && this.ollama.length > 0;
  }

  onApplicationBootstrap(): void {
    // From a file, a reload may make it needed: the timer runs and each tick asks only when it is.
    if (!this.needed && !this.config.routing.file) return;
    const tick = () => void (this.needed && this.poll());
    tick();
    this.timer = setInterval(tick, this.config.routing.loadedPollIntervalMs);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
    this.stopped.abort();
  }

  /** Asks every Ollama target now (or joins the poll in flight). */
  poll(): Promise<void> {
    this.polling ??= Promise.all(this.ollama.map((server) => this.pollOne(server))).then(
      () => (this.polling = undefined),
      () => (this.polling = undefined),
    );
    return this.polling;
  }

  private async pollOne({ target, backend }: { target: Target; backend: OllamaBackend }): Promise<void> {
    const timeoutMs = Math.min(MAX_POLL_TIMEOUT_MS, Math.max(100, this.config.routing.loadedPollIntervalMs));
    try {
      const { models } = await backend.hostJson('/api/ps', { method: 'GET' }, AbortSignal.any([this.stopped.signal, AbortSignal.timeout(timeoutMs)]));
      if (!this.stopped.signal.aborted) target.setLoaded(Array.isArray(models) ? models.flatMap(nameOf) : []);
    } catch (error) {
      if (error instanceof HostDownError && !this.stopped.signal.aborted) target.setLoaded([]);
    }
  }
}

/** A running model's name as `/api/ps` gives it (`name`, or `model` in older and newer servers). */
function nameOf(entry: unknown): string[] {
  if (typeof entry !== 'object' || entry === null) return [];
  const { name, model } = entry as { name?: unknown; model?: unknown };
  if (typeof name === 'string' && name) return [name];
  return typeof model === 'string' && model ? [model] : [];
}
