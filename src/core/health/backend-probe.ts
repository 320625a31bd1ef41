import { Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { AppConfig } from '../../config/app-config';
import { LlmService } from '../llm/llm.service';
import { listsModel, missingModelMessage } from '../llm/model-availability';
import { AppLogger } from '../logging/app-logger';

export interface BackendState {
  /** The last probe reached the backend. False until the first probe has answered. */
  up: boolean;
  /** Duration of the last probe, in milliseconds (also when it failed). */
  latencyMs: number | null;
  /** When the last probe finished (ISO time), or null before the first one. */
  checkedAt: string | null;
  /** The backend's version, from the last successful probe. */
  version: string | null;
  /** Why the last probe failed. */
  error: string | null;
  /** The models the backend listed at the last probe; null when it is down or its list could not be read. */
  models: string[] | null;
  /** `MODEL_NAME` when the backend is up and lists its models without it; null otherwise. */
  missingModel: string | null;
}

/** The longest a single probe may take, whatever the interval. */
const MAX_PROBE_TIMEOUT_MS = 5_000;

/**
 * Checks the model backend (`GET /api/version`, then its model list) at start and every
 * `HEALTH_PROBE_SECONDS`, in the background: readiness and metrics read the last result instead
 * of calling the backend on each request. It also tells whether `MODEL_NAME` is on the backend.
 * Only changes of state are logged.
 */
@Injectable()
export class BackendProbe implements OnApplicationBootstrap, OnApplicationShutdown {
  private current: BackendState = { up: false, latencyMs: null, checkedAt: null, version: null, error: 'not probed yet', models: null, missingModel: null };
  private timer?: NodeJS.Timeout;
  private running?: Promise<BackendState>;
  private stopped = false;
  private readonly modelListeners: ((models: string[]) => void)[] = [];
  private readonly statusListeners: ((state: Readonly<BackendState>) => void)[] = [];

  constructor(
    private readonly config: AppConfig,
    private readonly llm: LlmService,
    private readonly logger: AppLogger,
  ) {}

  get state(): Readonly<BackendState> {
    return this.current;
  }

  /** `ollama`, or `openai` for an OpenAI-compatible server. */
  get backendKind(): string {
    return this.llm.backendKind;
  }

  /** Called with the backend's model names after each successful probe. */
  onModels(listener: (models: string[]) => void): void {
    this.modelListeners.push(listener);
  }

  /** Called when the backend goes down (or is down at the first probe) and when it comes back. */
  onStatusChange(listener: (state: Readonly<BackendState>) => void): void {
    this.statusListeners.push(listener);
  }

  onApplicationBootstrap(): void {
    void this.probe();
    this.timer = setInterval(() => void this.probe(), this.config.health.probeIntervalMs);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    this.stopped = true;
    clearInterval(this.timer);
  }

  /** Runs one probe now (or joins the one in flight) and returns the new state. */
  probe(): Promise<BackendState> {
    this.running ??= this.run().finally(() => (this.running = undefined));
    return this.running;
  }

  private async run(): Promise<BackendState> {
    const timeoutMs = Math.min(MAX_PROBE_TIMEOUT_MS, Math.max(100, this.config.health.probeIntervalMs));
    const started = performance.now();
    let next: BackendState;
    try {
      const signal = AbortSignal.timeout(timeoutMs);
      const version = await this.llm.backendVersion(signal);
      const latencyMs = performance.now() - started;
      const listed = await this.llm.listModels(signal).then((models) => models.map((model) => model.name), () => null);
      if (listed) for (const listener of this.modelListeners) listener(listed);
      const model = this.config.llm.model;
      const missingModel = listed !== null && !listsModel(listed, model) ? model : null;
      next = { up: true, latencyMs, checkedAt: new Date().toISOString(), version, error: null, models: listed, missingModel };
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      next = {
        up: false,
        latencyMs: performance.now() - started,
        checkedAt: new Date().toISOString(),
        version: null,
        models: null,
        missingModel: null,
        error: error instanceof DOMException && error.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : reason,
      };
    }
    if (this.stopped) return next;
    const previous = this.current;
    this.current = next;
    const cameUp = next.up && !previous.up;
    const wentDown = !next.up && (previous.up || previous.checkedAt === null);
    if (cameUp) this.logger.pino.info({ backend: this.llm.backendKind, version: next.version }, 'model backend is up');
    if (wentDown) this.logger.pino.warn({ backend: this.llm.backendKind, reason: next.error }, 'model backend is down');
    const model = this.config.llm.model;
    if (next.missingModel && !previous.missingModel) {
      this.logger.pino.warn({ model, models: next.models }, missingModelMessage(model, this.llm.backendKind, next.models));
    } else if (next.models && !next.missingModel && previous.missingModel) {
      this.logger.pino.info({ model }, `model "${model}" is on the backend now`);
    }
    if (cameUp || wentDown) for (const listener of this.statusListeners) listener(next);
    return next;
  }
}
