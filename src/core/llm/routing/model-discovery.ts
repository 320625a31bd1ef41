import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { AppConfig } from '../../../config/app-config';
import { targetModels } from './model-catalogue';
import type { Target } from './target';
import { TargetPool } from './target-pool';

/** How long start-up waits for the first lists: past it Vega serves, and a target not heard from yet takes any model. */
export const FIRST_DISCOVERY_WAIT_MS = 2_000;
/** How long one target may take to list its models. */
const LIST_TIMEOUT_MS = 5_000;
/** A request waits this long at most for the lists asked again on its behalf. */
const CONFIRM_WAIT_MS = 2_000;
/** Requests for a model no list has ask the lists again at most this often (a typo must not flood the servers). */
const CONFIRM_MIN_INTERVAL_MS = 1_000;
/** How many names a log line of a target's list shows. */
const LOGGED_NAMES = 10;

/**
 * Learns which models each target serves: at start and every `MODELS_REFRESH_SEC`, every target
 * without configured `models` is asked for its list (`/api/tags`, `/v1/models`). A target that
 * does not answer keeps its last list (until the first answer, it may be sent any model). A
 * request for a model no list has asks the lists again first (at most once a second): a model
 * pulled a moment ago is served, not refused until the next round. Runs in the server only;
 * the CLI's one-off commands send any model to a target, as Vega did with one server.
 */
@Injectable()
export class ModelDiscovery implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(ModelDiscovery.name);
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  /** When a request last had the lists asked again (not the periodic rounds). */
  private lastConfirmAt = Number.NEGATIVE_INFINITY;
  /** Aborted at shutdown: a server that never answers must not hold the close up. */
  private readonly stopping = new AbortController();
  private started = false;
  /** What was last logged of each target (its list, or why it could not be read): only changes are logged. */
  private readonly reported = new Map<string, string>();

  constructor(
    private readonly config: AppConfig,
    private readonly pool: TargetPool,
    private readonly adapterHost: HttpAdapterHost,
  ) {}

  /** The targets whose lists are asked for (not configured), as the pool has them now (a reload may change them). */
  private get discovered(): readonly Target[] {
    return this.pool.targets.filter((target) => !target.configuredModels);
  }

  async onApplicationBootstrap(): Promise<void> {
    // From a file, a reload may add targets to discover: the rounds run (over none until then).
    if ((this.discovered.length === 0 && !this.config.routing.file) || !this.adapterHost.httpAdapter) return;
    this.started = true;
    const first = this.refresh();
    this.timer = setInterval(() => void this.refresh(), this.config.routing.discoveryIntervalMs);
    this.timer.unref();
    await within(first, FIRST_DISCOVERY_WAIT_MS);
  }

  /** Before the targets' connections are closed (at application shutdown), which would wait for a list in flight. */
  onModuleDestroy(): void {
    clearInterval(this.timer);
    this.stopping.abort();
  }

  /** Asks every discovered target for its list now (or joins the round in flight). */
  refresh(): Promise<void> {
    this.running ??= this.round().finally(() => (this.running = undefined));
    return this.running;
  }

  /**
   * Called before a request for `model` is routed: when no target's list has it, the lists are
   * asked again (waiting a short bound), so that the refusal, if any, is up to date.
   */
  async confirm(model: string): Promise<void> {
    if (!this.started || this.pool.servingTargets(model).length > 0) return;
    if (!this.running) {
      if (performance.now() - this.lastConfirmAt < CONFIRM_MIN_INTERVAL_MS) return;
      this.lastConfirmAt = performance.now();
    }
    await within(this.refresh(), CONFIRM_WAIT_MS);
  }

  private async round(): Promise<void> {
    await Promise.all(
      this.discovered.map(async (target) => {
        try {
          const signal = AbortSignal.any([this.stopping.signal, AbortSignal.timeout(LIST_TIMEOUT_MS)]);
          const names = (await targetModels(target, signal)).map((listed) => listed.model.name);
          target.setModels(names);
          const shown = names.slice(0, LOGGED_NAMES).join(', ') + (names.length > LOGGED_NAMES ? ', …' : '');
          this.report(target, 'log', `Model server ${target.name} lists ${names.length} model(s)${names.length > 0 ? `: ${shown}` : ''}`);
        } catch (error) {
          if (this.stopping.signal.aborted) return;
          const kept = target.models ? 'it keeps its last list' : 'it may be sent any model until it answers';
          this.report(target, 'warn', `Model server ${target.name} did not list its models (${(error as Error).message}); ${kept}`);
        }
      }),
    );
  }

  private report(target: Target, level: 'log' | 'warn', message: string): void {
    if (this.reported.get(target.name) === message) return;
    this.reported.set(target.name, message);
    this.logger[level](message);
  }
}

/** Waits for `work`, but `ms` at most (it goes on in the background). */
async function within(work: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([work, new Promise<void>((done) => (timer = setTimeout(done, ms)))]);
  clearTimeout(timer);
}
