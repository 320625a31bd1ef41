import { Injectable, Logger, OnApplicationShutdown, Optional } from '@nestjs/common';
import { AppConfig } from '../../config/app-config';
import { CallerContext } from '../../common/auth/caller-context';
import { CancelSignal } from '../../common/async/cancellation';
import { BreakerOpenError, ClientClosedError, ContextLengthExceededError, ModelNotFoundError, NotFoundError } from '../../common/errors/app-errors';
import { AttemptWatch, Deadline, settleFailure } from './resilience/attempt';
import { BreakerState } from './resilience/circuit-breaker';
import { KeyLimitsService } from '../limits/key-limits.service';
import { modelTimeMs } from '../persistence/stored-exchange';
import { answerRoom, ContextCheck, ContextGuard, estimateCompletionTokens, estimatePromptTokens, textTokens } from './context-guard';
import {
  BackendChatRequest,
  BackendChunk,
  BackendCompletionRequest,
  BackendTimings,
  BackendUsage,
  EmbedRequest,
  EmbedResult,
  LlmBackend,
  ModelDetails,
  OllamaHosts,
  TokenLogprob,
  ToolCall,
} from './llm-backend';
import { LlmObserver, outcomeOf } from './llm-observer';
import { missingModelMessage } from './model-availability';
import { ModelDetailsCache } from './model-details.cache';
import { CachedAnswer, CacheStats, ResponseCache } from './resilience/response-cache';
import { CatalogueEntry, listCatalogue } from './routing/model-catalogue';
import { ModelDiscovery } from './routing/model-discovery';
import { FallbackAdmission, fallbackChain, FallbackRoute } from './routing/fallback';
import { BackendStatus, backendStatus, TargetHealth } from './routing/backend-status';
import { breakerOpenError, Leg, Route } from './routing/route';
import { probeTarget } from './routing/target-probe';
import { TargetPool } from './routing/target-pool';
import type { StrategyName } from '../../config/routing-settings';

export interface BreakerStatus {
  state: BreakerState;
  /** Consecutive failures counted towards opening it. */
  failures: number;
  /** How long an open breaker still refuses calls (0 when it does not). */
  retryAfterMs: number;
}

export type CacheStatus = CacheStats & { enabled: boolean };

/** How long the model list behind a "model not found" message may take. */
const MODEL_LIST_TIMEOUT_MS = 2_000;

/** A chat request as LlmService takes it: the backend's request, every field of the exchange model. */
export type LlmRequest = BackendChatRequest;

/**
 * What a stream yields: the backend's chunks as they come, then `done` (with whether it came
 * from the cache, the model that served the answer — the one asked for or a fallback — and the
 * target that did; a cached answer has no target).
 */
export type LlmEvent =
  | Exclude<BackendChunk, { type: 'done' }>
  | {
      type: 'done';
      usage: BackendUsage;
      cached: boolean;
      model: string;
      target?: string;
      doneReason?: string;
      timings?: BackendTimings;
      context?: number[];
    };

/** Embeddings with the model that served them (the one asked for or a fallback) and the target that did. */
export type ServedEmbeddings = EmbedResult & { model: string; target: string };

/**
 * How one call may use the policy. `cache: false` neither reads nor fills the response cache:
 * for a client that asked for a sampled answer (Ollama's routes cache only with a seed or
 * temperature 0), a replay would silently give it the same "random" answer again.
 */
export interface CallPolicy {
  cache?: boolean;
  /**
   * Told the model and target (none: the cache) that serve the call, before its first piece is
   * yielded: what a caller that ends the answer early (a stop sequence, a length cut) stores.
   */
  served?: (model: string, target?: string) => void;
}

/**
 * The resilience policy around the model servers: exact-match cache, a target per attempt from
 * the routing pool (each target with its own circuit breaker), retries with exponential backoff
 * (only before the first token was handed on), and three timeouts — the whole request, the
 * first token, and the longest silence between chunks.
 */
@Injectable()
export class LlmService implements OnApplicationShutdown {
  private readonly details: ModelDetailsCache;
  private readonly contextGuard: ContextGuard;
  private readonly logger = new Logger(LlmService.name);

  constructor(
    private readonly config: AppConfig,
    private readonly pool: TargetPool,
    private readonly cache: ResponseCache,
    @Optional() private readonly observer?: LlmObserver,
    /** The calling key's allow-list, limits and budgets; absent, nothing is metered. */
    @Optional() private readonly limits?: KeyLimitsService,
    /** Where the model and target that serve a request are told (its response headers); absent in a bare graph. */
    @Optional() private readonly callers?: CallerContext,
    /** Asks the targets' model lists again before a model none has is refused; absent, the lists known are final. */
    @Optional() private readonly discovery?: ModelDiscovery,
  ) {
    this.details = new ModelDetailsCache(pool);
    pool.queue.onExit((model, waitedMs, exit) => observer?.queueExit?.(model, waitedMs, exit));
    // Only Ollama cuts an over-long prompt silently; OpenAI-compatible servers refuse it themselves.
    this.contextGuard = new ContextGuard(config.context, pool.kind === 'ollama' ? this.details : undefined, observer);
  }

  /** The kind of model server behind Vega (`ollama`, `openai`; the first target's with several). */
  get backendKind(): string {
    return this.pool.kind;
  }

  /**
   * The catalogue as the targets list it now: every model once with the targets that have it,
   * then the aliases (see `routing/model-catalogue.ts`).
   */
  listModels(signal: AbortSignal): Promise<CatalogueEntry[]> {
    return listCatalogue(this.pool, signal);
  }

  /** How requests are spread over the targets now (`ROUTING_STRATEGY`, or the file's, as last reloaded). */
  get routingStrategy(): StrategyName {
    return this.pool.strategy;
  }

  /** How many model servers (targets) are behind Vega. */
  get targetCount(): number {
    return this.pool.targets.length;
  }

  /** The model `name` stands for: an alias (`BACKENDS_FILE` `aliases`) resolved, any other name as it is. */
  resolveModel(name: string): string {
    return this.pool.resolve(name);
  }

  /** The version the first target that answers reports. */
  backendVersion(signal: AbortSignal): Promise<string> {
    return this.pool.version(signal);
  }

  /**
   * The targets' circuit breakers taken together: closed while any target's is (counting the
   * most failures among them), open when all are (until the soonest tries again).
   */
  breakerStatus(): BreakerStatus {
    const breakers = this.pool.targets.map((target) => target.breaker);
    const state = this.pool.breakerState();
    const waits = breakers.filter((breaker) => breaker.state !== 'closed').map((breaker) => breaker.retryAfterMs());
    return {
      state,
      failures: Math.max(...breakers.map((breaker) => breaker.failures)),
      retryAfterMs: state === 'closed' || waits.length === 0 ? 0 : Math.min(...waits),
    };
  }

  /** Closes every target's breaker (an operator's call); returns the state they were in together. */
  resetBreaker(): BreakerState {
    const previous = this.pool.breakerState();
    for (const target of this.pool.targets) target.breaker.reset();
    return previous;
  }

  /** Tells `listener` each state a target's breaker moves to, with the target's name. */
  onBreakerChange(listener: (state: BreakerState, target: string) => void): void {
    this.pool.onTarget((target) => target.breaker.onStateChange((state) => listener(state, target.name)));
  }

  /** The names of the targets, in configuration order. */
  targetNames(): string[] {
    return this.pool.targets.map((target) => target.name);
  }

  /** Every target's status: health, breaker, load, models, latency, errors, draining. */
  backends(): BackendStatus[] {
    const lengths = this.pool.queue.lengths();
    return this.pool.targets.map((target) => backendStatus(target, lengths));
  }

  /** Sends nothing new to the target `name` (what runs there finishes); `NotFoundError` for an unknown name. */
  drain(name: string): BackendStatus {
    return this.setDraining(name, true);
  }

  /** Sends requests to the target `name` again. */
  resume(name: string): BackendStatus {
    return this.setDraining(name, false);
  }

  /** Probes the target `name` now (reachable? what it lists?); the result shows in `backends()`. */
  probeTarget(name: string, timeoutMs: number, stop?: AbortSignal): Promise<TargetHealth> {
    return probeTarget(this.targetNamed(name), timeoutMs, stop);
  }

  private setDraining(name: string, draining: boolean): BackendStatus {
    const target = this.targetNamed(name);
    target.draining = draining;
    if (!draining) this.pool.queue.offer(target);
    return backendStatus(target, this.pool.queue.lengths());
  }

  private targetNamed(name: string) {
    const target = this.pool.find(name);
    if (!target) throw new NotFoundError(`no model server named '${name}'; there are: ${this.targetNames().join(', ')}`);
    return target;
  }

  /** Requests waiting in Vega's queue (every target for their model full), by model. */
  queueLengths(): Map<string, number> {
    return this.pool.queue.lengths();
  }

  /** The response cache: whether it is on, its size and limits, hits and misses. */
  cacheStatus(): CacheStatus {
    return { enabled: this.cache.enabled, ...this.cache.stats() };
  }

  /** Empties the response cache; returns how many answers it held. */
  clearCache(): number {
    const cleared = this.cache.stats().size;
    this.cache.clear();
    return cleared;
  }

  /** What the backend tells about a model (capabilities, context length), cached for a minute. */
  modelDetails(model: string, signal?: CancelSignal): Promise<ModelDetails> {
    return this.details.get(model, signal);
  }

  /** Every Ollama target's own model listings (Vega's `/api/tags`, `/api/ps`, `/api/show`); none without Ollama targets. */
  ollamaHosts(): OllamaHosts | undefined {
    return this.pool.ollamaHosts();
  }

  /** Throws `BreakerOpenError` when a call made now would be refused, fallbacks included (checked before a stream starts). */
  assertAvailable(model = this.config.llm.model): void {
    model = this.pool.resolve(model);
    if (!fallbackChain(model, this.pool.fallbacks).every((each) => this.pool.refuses(each))) return;
    this.observer?.record(model, 'breaker_open', performance.now(), 0);
    throw breakerOpenError(this.pool.retryAfterMs(model));
  }

  /**
   * A chat through the policy: the calling key's allow-list, limits and budgets (the call holds
   * one of the key's concurrent streams until it ends, and is charged what it used), the context
   * guard (a prompt that cannot fit the model's context is refused before it is sent), cache,
   * breaker, retries before the first chunk, timeouts.
   */
  async *stream(request: LlmRequest, signal: CancelSignal, policy: CallPolicy = {}): AsyncGenerator<LlmEvent> {
    yield* this.guarded(request, estimatePromptTokens, {
      kind: 'chat',
      check: (each) => this.contextGuard.check(each, signal),
      open: (backend, each, attempt) => backend.chatStream(each, attempt),
    }, signal, policy);
  }

  /**
   * Refuses now what the calling key's allow-list, limits or budgets would refuse this chat,
   * taking nothing (the stream itself admits it): for a lane that sends its headers before the
   * first event.
   */
  async assertAdmissible(request: LlmRequest): Promise<void> {
    request = this.resolved(request);
    await this.limits?.check(request.model, estimatePromptTokens(request) + answerRoom(request.options));
  }

  /**
   * Embeddings through the policy: the calling key's limits and budgets (charged the tokens
   * read), breaker, retries with backoff, the whole-request timeout (`LLM_TIMEOUT_SEC`; there is
   * no first token to wait for) and the metrics of every model call.
   */
  async embed(request: EmbedRequest, signal: CancelSignal): Promise<ServedEmbeddings> {
    request = this.resolved(request);
    const tokens = request.input.reduce((sum, text) => sum + textTokens(text), 0);
    const lease = await this.limits?.admit(request.model, tokens, 0);
    try {
      const result = await this.embedOnce(request, signal);
      lease?.settle({ tokens: result.promptTokens, modelMs: modelTimeMs(result.timings) });
      return result;
    } finally {
      lease?.end();
    }
  }

  private async embedOnce(request: EmbedRequest, signal: CancelSignal): Promise<ServedEmbeddings> {
    const startedAt = performance.now();
    if (signal.aborted) throw new ClientClosedError();
    const deadline = new Deadline(this.config.llm.timeoutMs, signal);
    const route = this.route(request.model, deadline);
    let leg = await this.firstLeg(route, request.model, startedAt);
    for (;;) {
      const attemptSignal = new AbortController();
      const onClientAbort = () => attemptSignal.abort(new ClientClosedError());
      signal.addEventListener('abort', onClientAbort, { once: true });
      deadline.limitTo(leg.target.limits(this.config.llm).timeoutMs);
      const timer = setTimeout(() => attemptSignal.abort(deadline.expired()), Math.max(0, deadline.remainingMs()));
      const end = leg.end;
      let failure: unknown;
      try {
        const model = route.model;
        const result = await leg.target.backend.embed(model === request.model ? request : { ...request, model }, attemptSignal.signal);
        leg.permit.success();
        leg.target.markLoaded(model);
        this.observer?.record(request.model, 'ok', startedAt, 0, { promptTokens: result.promptTokens, completionTokens: 0 }, leg.target.name);
        this.callers?.served(model, leg.target.name);
        return { ...result, model, target: leg.target.name };
      } catch (error) {
        failure = attemptSignal.signal.aborted ? attemptSignal.signal.reason : error;
        settleFailure(leg.permit, failure);
      } finally {
        end();
        clearTimeout(timer);
        signal.removeEventListener('abort', onClientAbort);
      }
      try {
        leg = await route.next(failure);
      } catch (final) {
        this.observer?.record(request.model, outcomeOf(final), startedAt, 0, undefined, leg.target.name);
        throw final;
      }
    }
  }

  /** A raw completion (`/v1/completions`, `/api/generate`) through the same policy, limits and context guard; cached apart from chats. */
  async *streamCompletion(request: BackendCompletionRequest, signal: CancelSignal, policy: CallPolicy = {}): AsyncGenerator<LlmEvent> {
    yield* this.guarded(request, estimateCompletionTokens, {
      kind: 'completion',
      check: (each) => this.contextGuard.checkCompletion(each, signal),
      open: (backend, each, attempt) => backend.completionStream(each, attempt),
    }, signal, policy);
  }

  /**
   * A chat or completion through the key's limits, the context guard, then `run`. The guard checks
   * the requested model before anything is sent (a prompt that cannot fit is refused), and each
   * fallback model before the call goes to it: one whose context the prompt cannot fit is skipped
   * (with CONTEXT_OVERFLOW=raise_num_ctx it gets its own larger `num_ctx` when one fits); each
   * model is sent the client's request with only what its own check changed.
   */
  private async *guarded<R extends BackendChatRequest | BackendCompletionRequest>(
    request: R,
    estimate: (request: R) => number,
    call: { kind: 'chat' | 'completion'; check: (request: R) => Promise<ContextCheck<R> | undefined>; open: (backend: LlmBackend, request: R, signal: CancelSignal) => AsyncIterable<BackendChunk> },
    signal: CancelSignal,
    policy: CallPolicy,
  ): AsyncGenerator<LlmEvent> {
    request = this.resolved(request);
    const lease = await this.limits?.admit(request.model, estimate(request), answerRoom(request.options));
    try {
      // Open breakers refuse the call anyway: do not ask the failing backend about the model first.
      const check = this.pool.refuses(request.model) ? undefined : await call.check(request);
      const sent = check?.request ?? request;
      const checks = new Map([[sent.model, check]]);
      const admits = async (model: string): Promise<boolean> => {
        if (this.pool.refuses(model)) return true;
        try {
          checks.set(model, await call.check({ ...request, model }));
          return true;
        } catch (error) {
          if (!(error instanceof ContextLengthExceededError)) throw error;
          this.logger.warn(`Fallback ${model} skipped for a call to ${request.model}: ${error.message}`);
          return false;
        }
      };
      const cacheKey = this.cache.enabled && policy.cache !== false ? ResponseCache.keyFor(call.kind, sent) : '';
      const open = (backend: LlmBackend, attempt: CancelSignal, model: string) =>
        call.open(backend, model === sent.model ? sent : (checks.get(model)?.request ?? { ...request, model }), attempt);
      for await (const event of this.run(sent.model, cacheKey, open, signal, policy, admits)) {
        const served = event.type === 'done' && !event.cached ? checks.get(event.model) : undefined;
        if (event.type === 'done' && served) this.contextGuard.afterAnswer(served, event.usage.promptTokens);
        lease?.observe(event);
        yield event;
      }
    } finally {
      lease?.end();
    }
  }

  private async *run(
    model: string,
    cacheKey: string,
    open: (backend: LlmBackend, signal: CancelSignal, model: string) => AsyncIterable<BackendChunk>,
    signal: CancelSignal,
    policy: CallPolicy,
    admits?: FallbackAdmission,
  ): AsyncGenerator<LlmEvent> {
    const startedAt = performance.now();
    const served = (by: string, target?: string) => {
      policy.served?.(by, target);
      this.callers?.served(by, target);
    };
    let firstTokenAt = 0;
    const hit = cacheKey ? await this.cache.lookup(cacheKey) : undefined;
    if (hit) {
      this.observer?.record(model, 'cached', startedAt, 0);
      served(hit.model ?? model);
      if (hit.thinking) yield { type: 'thinking', text: hit.thinking };
      if (hit.text) yield { type: 'token', text: hit.text, ...(hit.logprobs ? { logprobs: hit.logprobs } : {}) };
      for (const call of hit.toolCalls ?? []) yield { type: 'tool_call', call };
      yield { type: 'done', usage: hit.usage, cached: true, model: hit.model ?? model, doneReason: hit.doneReason };
      return;
    }
    if (signal.aborted) throw new ClientClosedError();
    const deadline = new Deadline(this.config.llm.timeoutMs, signal);
    const route = this.route(model, deadline, admits);
    let leg = await this.firstLeg(route, model, startedAt);
    // Once anything reached the consumer (text, thinking, a tool call), the attempt is never retried.
    let delivered = false;
    for (;;) {
      const limits = leg.target.limits(this.config.llm);
      deadline.limitTo(limits.timeoutMs);
      const watch = new AttemptWatch(deadline, limits);
      const answer = cacheKey ? new AnswerRecorder() : undefined;
      const end = leg.end;
      let done: Extract<BackendChunk, { type: 'done' }> | undefined;
      let failure: unknown;
      let settled = false;
      try {
        for await (const chunk of open(leg.target.backend, watch.signal, route.model)) {
          watch.chunkArrived();
          if (chunk.type === 'done') {
            done = chunk;
            continue;
          }
          answer?.add(chunk);
          firstTokenAt ||= performance.now();
          // Said before the first piece goes out: a stream's headers leave with it.
          if (!delivered) served(route.model, leg.target.name);
          delivered = true;
          yield chunk;
        }
        // The backend's stream ended cleanly (adapters throw when it ends without a final chunk).
        watch.finish();
        settled = true;
        leg.permit.success();
      } catch (error) {
        failure = watch.explain(error);
        settled = true;
        settleFailure(leg.permit, failure);
      } finally {
        watch.dispose();
        end();
        // The consumer stopped early (truncation, client gone): the backend was fine so far.
        if (!settled) {
          if (delivered) leg.permit.success();
          else leg.permit.release();
          this.observer?.record(model, delivered && !signal.aborted ? 'ok' : 'aborted', startedAt, firstTokenAt, undefined, leg.target.name);
        }
      }
      if (done) {
        leg.target.markLoaded(route.model);
        if (answer) this.cache.set(cacheKey, answer.cached(done.usage, done.doneReason, route.model));
        this.observer?.record(model, 'ok', startedAt, firstTokenAt, done.usage, leg.target.name);
        if (!delivered) served(route.model, leg.target.name);
        yield {
          type: 'done',
          usage: done.usage,
          cached: false,
          model: route.model,
          target: leg.target.name,
          doneReason: done.doneReason,
          timings: done.timings,
          ...(done.context ? { context: done.context } : {}),
        };
        return;
      }
      try {
        if (delivered) throw failure;
        leg = await route.next(failure);
      } catch (final) {
        this.observer?.record(model, outcomeOf(final), startedAt, firstTokenAt, undefined, leg.target.name);
        if (final instanceof ModelNotFoundError && model === this.config.llm.model) throw await this.missingDefaultModel(model);
        throw final;
      }
    }
  }

  /**
   * The targets one call for `model` may go through, attempt by attempt: its own, then those of
   * its fallbacks in turn when none of its targets can serve it (see `FallbackRoute`).
   */
  private route(model: string, deadline: Deadline, admits?: FallbackAdmission): FallbackRoute {
    const policy = { maxRetries: this.config.llm.maxRetries, backoffMs: (attempt: number) => this.backoffMs(attempt) };
    return new FallbackRoute(fallbackChain(model, this.pool.fallbacks), (each) => new Route(this.pool, each, deadline, policy), admits);
  }

  /**
   * The first attempt's target (after a wait in the queue when all are full; a model no target's
   * list has makes the lists be asked again first); when there is none, the failure is counted and thrown.
   */
  private async firstLeg(route: FallbackRoute, model: string, startedAt: number): Promise<Leg> {
    await this.discovery?.confirm(model);
    try {
      return await route.first();
    } catch (error) {
      this.observer?.record(model, error instanceof BreakerOpenError ? 'breaker_open' : outcomeOf(error), startedAt, 0);
      if (error instanceof ModelNotFoundError && model === this.config.llm.model) throw await this.missingDefaultModel(model);
      throw error;
    }
  }

  /** The request with its model's alias resolved (`fast` → `llama3.2`): routing, limits and the cache see the model. */
  private resolved<T extends { model: string }>(request: T): T {
    const model = this.pool.resolve(request.model);
    return model === request.model ? request : { ...request, model };
  }

  async onApplicationShutdown(): Promise<void> {
    await this.pool.close();
  }

  /** The backend lacks `MODEL_NAME` (what a request naming no model gets): say how to fix it, and what it has. */
  private async missingDefaultModel(model: string): Promise<ModelNotFoundError> {
    const listed = await this.listModels(AbortSignal.timeout(MODEL_LIST_TIMEOUT_MS)).then(
      (models) => models.map((entry) => entry.name),
      () => null,
    );
    return new ModelNotFoundError(missingModelMessage(model, this.pool.kind, listed));
  }

  private backoffMs(attempt: number): number {
    const base = this.config.llm.retryBackoffMs * 2 ** attempt;
    return base + base * 0.2 * Math.random();
  }
}

/** Collects one attempt's answer for the cache. */
class AnswerRecorder {
  private text = '';
  private thinking = '';
  private readonly toolCalls: ToolCall[] = [];
  private logprobs?: TokenLogprob[];

  add(chunk: Exclude<BackendChunk, { type: 'done' }>): void {
    if (chunk.type === 'token') {
      this.text += chunk.text;
      if (chunk.logprobs) (this.logprobs ??= []).push(...chunk.logprobs);
    } else if (chunk.type === 'thinking') this.thinking += chunk.text;
    else this.toolCalls.push(chunk.call);
  }

  cached(usage: BackendUsage, doneReason: string | undefined, model: string): CachedAnswer {
    return {
      text: this.text,
      usage,
      doneReason,
      model,
      ...(this.thinking ? { thinking: this.thinking } : {}),
      ...(this.toolCalls.length > 0 ? { toolCalls: this.toolCalls } : {}),
      ...(this.logprobs ? { logprobs: this.logprobs } : {}),
    };
  }
}
