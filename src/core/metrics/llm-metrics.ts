import type { BackendUsage } from '../llm/llm-backend';
import { LLM_OUTCOMES, LlmObserver, type LlmOutcome } from '../llm/llm-observer';
import type { QueueExit } from '../llm/routing/fair-queue';
import type { CallerContext } from '../../common/auth/caller-context';
import type { KeyMetrics } from './key-metrics';
import { CounterFamily, CounterSeries, HistogramFamily, HistogramSeries } from './metric-families';

/** Model label of every model the backend did not list (typos, probes for random names). */
export const OTHER_MODEL = 'other';
/** The lane label of model calls made outside a request (the CLI, background work). */
const CLI_LANE = 'cli';
/** Bounds the model label even against a backend that lists thousands of models. */
const MAX_KNOWN_MODELS = 256;

const DURATION_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300];
const TTFT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30];
const QUEUE_WAIT_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120];
const TOKENS_PER_SECOND_BUCKETS = [1, 2, 5, 10, 20, 30, 50, 75, 100, 150, 200, 500, 1000];

interface ModelSeries {
  outcomes: Record<LlmOutcome, CounterSeries>;
  duration: HistogramSeries;
  ttft: HistogramSeries;
  tokensPerSecond: HistogramSeries;
  promptTokens: CounterSeries;
  completionTokens: CounterSeries;
  truncations: CounterSeries;
}

/**
 * Model calls by model and outcome, their latency, time to first token, generation speed and
 * token counts. The model label is the configured model or one the backend lists (learned by
 * the background probe); anything else is `other`, so clients cannot grow the label set.
 */
export class LlmMetrics extends LlmObserver {
  readonly requests = new CounterFamily('vega_llm_requests_total', 'Model calls by model and outcome (ok, cached, error, aborted, timeout, breaker_open).', [
    'model',
    'outcome',
  ]);
  readonly duration = new HistogramFamily(
    'vega_llm_request_duration_seconds',
    'Duration of model calls that produced a complete answer, by model.',
    ['model'],
    DURATION_BUCKETS,
  );
  readonly ttft = new HistogramFamily(
    'vega_llm_time_to_first_token_seconds',
    'Time from the start of a model call to its first token (calls that reached the backend and got a token), by model.',
    ['model'],
    TTFT_BUCKETS,
  );
  readonly tokensPerSecond = new HistogramFamily(
    'vega_llm_tokens_per_second',
    'Generation speed of complete answers: completion tokens divided by the time from the first token to the end, by model.',
    ['model'],
    TOKENS_PER_SECOND_BUCKETS,
  );
  readonly promptTokens = new CounterFamily('vega_llm_prompt_tokens_total', 'Prompt tokens the backend evaluated (from its final chunk), by model.', ['model']);
  readonly completionTokens = new CounterFamily(
    'vega_llm_completion_tokens_total',
    'Completion tokens the backend generated (from its final chunk), by model.',
    ['model'],
  );

  readonly lanes = new CounterFamily(
    'vega_llm_lane_requests_total',
    'Model calls by the API dialect they came through (lane: api, openai, ollama, anthropic, responses; cli for calls made without a request) and outcome.',
    ['lane', 'outcome'],
  );

  readonly truncations = new CounterFamily(
    'vega_context_truncations_total',
    'Answers whose prompt the backend read as far fewer tokens than Vega estimated: it silently cut the prompt to fit its context, by model.',
    ['model'],
  );

  readonly targets = new CounterFamily(
    'vega_target_requests_total',
    'Model calls by the model server (target) they last went to and outcome (ok, error, aborted, timeout); cached and refused calls reach none.',
    ['target', 'outcome'],
  );
  readonly queueWait = new HistogramFamily(
    'vega_queue_wait_seconds',
    "Time requests waited in Vega's queue (every target for their model at its max concurrency) until given a target, refused for waiting too long, or left, by model.",
    ['model'],
    QUEUE_WAIT_BUCKETS,
  );
  readonly queueRefusals = new CounterFamily(
    'vega_queue_refusals_total',
    "Requests Vega's queue refused with a 503, by model and reason (full: QUEUE_MAX_LENGTH waiting; timeout: waited QUEUE_MAX_WAIT_SEC).",
    ['model', 'reason'],
  );

  private readonly byLane = new Map<string, Record<LlmOutcome, CounterSeries>>();
  private readonly byTarget = new Map<string, Record<LlmOutcome, CounterSeries>>();
  private readonly known = new Set<string>();
  private readonly byModel = new Map<string, ModelSeries>();
  private readonly other: ModelSeries;

  /** With `byKey`, each call is also counted under the name of the calling key (none in the CLI). */
  constructor(
    defaultModel: string,
    private readonly byKey?: { caller: CallerContext; metrics: KeyMetrics },
  ) {
    super();
    this.other = this.create(OTHER_MODEL);
    this.addKnownModels([defaultModel]);
    this.seriesFor(defaultModel);
  }

  /** Models the backend lists become label values (`name:latest` also as `name`). */
  addKnownModels(names: readonly string[]): void {
    for (const name of names) {
      for (const form of name.endsWith(':latest') ? [name, name.slice(0, -':latest'.length)] : [name]) {
        if (this.known.size >= MAX_KNOWN_MODELS) return;
        if (form !== OTHER_MODEL) this.known.add(form);
      }
    }
  }

  /** The label a model's calls are counted under. */
  labelFor(model: string): string {
    return this.known.has(model) ? model : OTHER_MODEL;
  }

  record(model: string, outcome: LlmOutcome, startedAt: number, firstTokenAt: number, usage?: BackendUsage, target?: string): void {
    const series = this.seriesFor(model);
    series.outcomes[outcome].inc();
    this.outcomeSeries(this.byLane, this.lanes, this.byKey?.caller.lane() ?? CLI_LANE)[outcome].inc();
    // Target names come from the configuration, never from a client: a bounded label set.
    if (target !== undefined) this.outcomeSeries(this.byTarget, this.targets, target)[outcome].inc();
    const caller = this.byKey?.caller.current();
    if (caller) this.byKey!.metrics.record(caller.name, outcome === 'ok' ? usage : undefined);
    if (outcome === 'cached' || outcome === 'breaker_open') return;
    const now = performance.now();
    if (firstTokenAt > 0) series.ttft.observe((firstTokenAt - startedAt) / 1000);
    if (outcome !== 'ok') return;
    series.duration.observe((now - startedAt) / 1000);
    if (!usage) return;
    series.promptTokens.inc(usage.promptTokens);
    series.completionTokens.inc(usage.completionTokens);
    const generating = (now - firstTokenAt) / 1000;
    if (firstTokenAt > 0 && usage.completionTokens > 0 && generating > 0) {
      series.tokensPerSecond.observe(usage.completionTokens / generating);
    }
  }

  contextTruncated(model: string): void {
    this.seriesFor(model).truncations.inc();
  }

  override queueExit(model: string, waitedMs: number, exit: QueueExit): void {
    const label = this.labelFor(model);
    if (exit === 'full' || exit === 'timeout') this.queueRefusals.with(label, exit).inc();
    if (exit !== 'full') this.queueWait.with(label).observe(waitedMs / 1000);
  }

  /** A lane's or a target's series, made on first use (both are a fixed handful). */
  private outcomeSeries(cache: Map<string, Record<LlmOutcome, CounterSeries>>, family: CounterFamily, label: string): Record<LlmOutcome, CounterSeries> {
    let series = cache.get(label);
    if (!series) {
      series = {} as Record<LlmOutcome, CounterSeries>;
      for (const outcome of LLM_OUTCOMES) series[outcome] = family.with(label, outcome);
      cache.set(label, series);
    }
    return series;
  }

  private seriesFor(model: string): ModelSeries {
    const found = this.byModel.get(model);
    if (found) return found;
    if (!this.known.has(model)) return this.other;
    const created = this.create(model);
    this.byModel.set(model, created);
    return created;
  }

  private create(label: string): ModelSeries {
    const outcomes = {} as Record<LlmOutcome, CounterSeries>;
    for (const outcome of LLM_OUTCOMES) outcomes[outcome] = this.requests.with(label, outcome);
    return {
      outcomes,
      duration: this.duration.with(label),
      ttft: this.ttft.with(label),
      tokensPerSecond: this.tokensPerSecond.with(label),
      promptTokens: this.promptTokens.with(label),
      completionTokens: this.completionTokens.with(label),
      truncations: this.truncations.with(label),
    };
  }
}
