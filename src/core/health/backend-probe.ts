import { Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { AppConfig } from '../../config/app-config';
import { LlmService } from '../llm/llm.service';
import { listsModel, missingModelMessage } from '../llm/model-availability';
import { AppLogger } from '../logging/app-logger';
import type { TargetHealth } from '../llm/routing/backend-status';

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
 * Checks every model server (`GET /api/version`, then its model list) at start and every
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
  /** Aborted at shutdown: a probe of a server that does not answer must not hold the app's close. */
  private readonly stopping = new AbortController();
  private readonly modelListeners: ((models: string[]) => void)[] = [];
  private readonly statusListeners: ((state: Readonly<BackendState>, target: string) => void)[] = [];
  private targets: ReadonlyMap<string, BackendState> = new Map();

  constructor(
    private readonly config: AppConfig,
    private readonly llm: LlmService,
    private readonly logger: AppLogger,
  ) {}

  /** All targets taken together (up while any is). */
  get state(): Readonly<BackendState> {
    return this.current;
  }

  /** Each target's last probe, by name; empty before the first probe. */
  get targetStates(): ReadonlyMap<string, Readonly<BackendState>> {
    return this.targets;
  }

  /** `ollama`, or `openai` for an OpenAI-compatible server. */
  get backendKind(): string {
    return this.llm.backendKind;
  }

  /** Called with the backend's model names after each successful probe. */
  onModels(listener: (models: string[]) => void): void {
    this.modelListeners.push(listener);
  }

  /** Called when a target goes down (or is down at the first probe) and when it comes back, with its name. */
  onStatusChange(listener: (state: Readonly<BackendState>, target: string) => void): void {
    this.statusListeners.push(listener);
  }

  onApplicationBootstrap(): void {
    void this.probe();
    this.timer = setInterval(() => void this.probe(), this.config.health.probeIntervalMs);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    this.stopped = true;
    this.stopping.abort();
    clearInterval(this.timer);
  }

  /** Runs one probe now (or joins the one in flight) and returns the new state. */
  probe(): Promise<BackendState> {
    this.running ??= this.run().finally(() => (this.running = undefined));
    return this.running;
  }

  private async run(): Promise<BackendState> {
    const timeoutMs = Math.min(MAX_PROBE_TIMEOUT_MS, Math.max(100, this.config.health.probeIntervalMs));
    const names = this.llm.targetNames();
    const probed = await Promise.all(names.map((name) => this.llm.probeTarget(name, timeoutMs, this.stopping.signal)));
    if (this.stopped) return this.current;
    const model = this.config.llm.model;
    const states = new Map<string, BackendState>();
    probed.forEach((health, index) => states.set(names[index]!, stateOf(health, model)));
    const next = combined(names, [...states.values()], model);
    if (next.models) for (const listener of this.modelListeners) listener(next.models);
    const previous = this.current;
    const previousTargets = this.targets;
    this.current = next;
    this.targets = states;
    for (const [name, state] of states) {
      const before = previousTargets.get(name);
      const cameUp = state.up && !before?.up;
      const wentDown = !state.up && (before === undefined || before.up);
      const fields = { backend: this.llm.backendKind, target: name };
      if (cameUp) this.logger.pino.info({ ...fields, version: state.version }, 'model backend is up');
      if (wentDown) this.logger.pino.warn({ ...fields, reason: state.error }, 'model backend is down');
      if (cameUp || wentDown) for (const listener of this.statusListeners) listener(state, name);
    }
    if (next.missingModel && !previous.missingModel) {
      this.logger.pino.warn({ model, models: next.models }, missingModelMessage(model, this.llm.backendKind, next.models));
    } else if (next.models && !next.missingModel && previous.missingModel) {
      this.logger.pino.info({ model }, `model "${model}" is on the backend now`);
    }
    return next;
  }
}

/** One target's probe as a backend state. */
function stateOf(health: TargetHealth, model: string): BackendState {
  const missingModel = health.models !== null && !listsModel(health.models, model) ? model : null;
  const { up, latencyMs, version, error, models } = health;
  return { up, latencyMs, checkedAt: health.checkedAt.toISOString(), version, error, models, missingModel };
}

/**
 * The targets taken together: up while any is; the models any of them lists; the default model
 * missing when none of those that answered lists it. With several targets, a failure names them.
 */
function combined(names: string[], states: BackendState[], model: string): BackendState {
  if (states.length === 1) return states[0]!;
  const up = states.filter((state) => state.up);
  const lists = up.map((state) => state.models).filter((models) => models !== null);
  const models = lists.length > 0 ? [...new Set(lists.flat())] : null;
  const errors = states.flatMap((state, index) => (state.error ? [`${names[index]}: ${state.error}`] : []));
  return {
    up: up.length > 0,
    latencyMs: Math.max(...states.map((state) => state.latencyMs ?? 0)),
    checkedAt: new Date().toISOString(),
    version: up[0]?.version ?? null,
    error: up.length > 0 ? null : errors.join('; ') || 'no target answered',
    models,
    missingModel: models !== null && !listsModel(models, model) ? model : null,
  };
}
