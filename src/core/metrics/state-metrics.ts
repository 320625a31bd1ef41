import { Injectable } from '@nestjs/common';
import { Counter, Gauge } from 'prom-client';
import { DataSource } from 'typeorm';
import { AuthFailureLimiter } from '../../common/throttling/auth-failure.limiter';
import { BackendProbe } from '../health/backend-probe';
import { KeyLimitsService } from '../limits/key-limits.service';
import { ExchangeSpool } from '../persistence/exchange-spool';
import type { BreakerState } from '../llm/resilience/circuit-breaker';
import { LlmService } from '../llm/llm.service';
import { HttpMetrics } from './http-metrics';
import { KeyMetrics } from './key-metrics';
import { LlmMetrics } from './llm-metrics';
import { MetricsRegistry } from './metrics-registry';

const BREAKER_VALUE: Record<BreakerState, number> = { closed: 0, half_open: 1, open: 2 };

/** Counting the table is a scan of its smallest index; scrapes closer together reuse the last count. */
const ROW_COUNT_MAX_AGE_MS = 10_000;

/**
 * Metrics read from the state other parts already keep, when Prometheus scrapes (prom-client
 * `collect()`): nothing on the request path. Also registers the hot-path families and feeds the
 * backend's model list into the model label.
 */
@Injectable()
export class StateMetrics {
  private rowCount?: { value: number; at: number };

  constructor(
    registry: MetricsRegistry,
    http: HttpMetrics,
    llmMetrics: LlmMetrics,
    keyMetrics: KeyMetrics,
    llm: LlmService,
    probe: BackendProbe,
    private readonly dataSource: DataSource,
    authFailures: AuthFailureLimiter,
    keyLimits: KeyLimitsService,
    spool: ExchangeSpool,
  ) {
    for (const family of [http.requests, http.duration]) registry.registerFamily(family);
    for (const family of [
      llmMetrics.requests,
      llmMetrics.duration,
      llmMetrics.ttft,
      llmMetrics.tokensPerSecond,
      llmMetrics.promptTokens,
      llmMetrics.completionTokens,
      llmMetrics.truncations,
      llmMetrics.lanes,
      llmMetrics.targets,
      llmMetrics.queueWait,
      llmMetrics.queueRefusals,
      keyMetrics.requests,
      keyMetrics.tokens,
      keyLimits.refusals,
    ]) {
      registry.registerFamily(family);
    }
    probe.onModels((models) => llmMetrics.addKnownModels(models));
    const registers = [registry.registry];

    new Gauge({
      name: 'vega_http_requests_in_flight',
      help: 'HTTP requests received and not yet answered (open streams included).',
      registers,
      collect() {
        this.set(http.inFlight);
      },
    });
    new Gauge({
      name: 'vega_llm_breaker_state',
      help: 'Circuit breaker in front of the model backend: 0 closed, 1 half-open, 2 open.',
      registers,
      collect() {
        this.set(BREAKER_VALUE[llm.breakerStatus().state]);
      },
    });
    new Counter({
      name: 'vega_llm_cache_hits_total',
      help: 'Answers served from the response cache.',
      registers,
      collect() {
        this.reset();
        this.inc(llm.cacheStatus().hits);
      },
    });
    new Counter({
      name: 'vega_llm_cache_misses_total',
      help: 'Response cache look-ups that found nothing (only counted while the cache is enabled).',
      registers,
      collect() {
        this.reset();
        this.inc(llm.cacheStatus().misses);
      },
    });
    new Counter({
      name: 'vega_auth_failures_total',
      help: 'Failed authentications by reason: missing (no key), invalid (unknown key), revoked, expired, blocked (an address refused for too many wrong keys).',
      labelNames: ['reason'],
      registers,
      collect() {
        this.reset();
        for (const [reason, count] of authFailures.counts()) this.inc({ reason }, count);
      },
    });
    new Counter({
      name: 'vega_spool_fsyncs_total',
      help: 'Fsyncs of the exchange spool (exchanges kept while the database cannot take them); appends that arrive together share one.',
      registers,
      collect() {
        this.reset();
        this.inc(spool.fsyncs);
      },
    });
    new Gauge({
      name: 'vega_llm_cache_entries',
      help: 'Answers held in the response cache.',
      registers,
      collect() {
        this.set(llm.cacheStatus().size);
      },
    });
    new Gauge({
      name: 'vega_backend_up',
      help: 'Whether the last background probe reached the model backend (1) or not (0).',
      registers,
      collect() {
        this.set(probe.state.up ? 1 : 0);
      },
    });
    new Gauge({
      name: 'vega_backend_probe_duration_seconds',
      help: 'Duration of the last background probe of the model backend.',
      registers,
      collect() {
        const latency = probe.state.latencyMs;
        if (latency !== null) this.set(latency / 1000);
      },
    });
    new Gauge({
      name: 'vega_target_up',
      help: 'Whether the last background probe reached the model server (1) or not (0), by target.',
      labelNames: ['target'],
      registers,
      collect() {
        for (const [target, state] of probe.targetStates) this.set({ target }, state.up ? 1 : 0);
      },
    });
    new Gauge({
      name: 'vega_target_in_flight',
      help: 'Requests sent to the model server and not finished, by target.',
      labelNames: ['target'],
      registers,
      collect() {
        for (const backend of llm.backends()) this.set({ target: backend.name }, backend.inFlight);
      },
    });
    new Gauge({
      name: 'vega_target_breaker_state',
      help: "The model server's own circuit breaker: 0 closed, 1 half-open, 2 open, by target.",
      labelNames: ['target'],
      registers,
      collect() {
        for (const backend of llm.backends()) this.set({ target: backend.name }, BREAKER_VALUE[backend.breaker]);
      },
    });
    new Gauge({
      name: 'vega_target_draining',
      help: 'Whether an operator is draining the model server (1: nothing new is sent to it), by target.',
      labelNames: ['target'],
      registers,
      collect() {
        for (const backend of llm.backends()) this.set({ target: backend.name }, backend.draining ? 1 : 0);
      },
    });
    new Gauge({
      name: 'vega_queue_length',
      help: "Requests waiting in Vega's queue because every target for their model is at its max concurrency, by model.",
      labelNames: ['model'],
      registers,
      collect() {
        this.reset();
        for (const [model, waiting] of llm.queueLengths()) this.inc({ model: llmMetrics.labelFor(model) }, waiting);
      },
    });
    const rows = () => this.conversationCount();
    new Gauge({
      name: 'vega_conversations_stored',
      help: 'Conversations in the database (counted at most every 10 s).',
      registers,
      async collect() {
        const count = await rows();
        if (count !== undefined) this.set(count);
      },
    });
  }

  private async conversationCount(): Promise<number | undefined> {
    const now = Date.now();
    if (this.rowCount && now - this.rowCount.at < ROW_COUNT_MAX_AGE_MS) return this.rowCount.value;
    try {
      const [row] = (await this.dataSource.query('SELECT COUNT(*) AS n FROM conversations')) as { n: number }[];
      this.rowCount = { value: Number(row?.n ?? 0), at: now };
    } catch {
      // The database is unavailable (readiness says so); keep the last value rather than fail the scrape.
    }
    return this.rowCount?.value;
  }
}
