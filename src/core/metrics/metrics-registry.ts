import { performance } from 'node:perf_hooks';
import { collectDefaultMetrics, Registry, type Metric } from 'prom-client';
import type { CounterFamily, HistogramFamily } from './metric-families';

/**
 * Where the process registry is kept: on `node:perf_hooks`' `performance` object (the collectors
 * are perf_hooks observers), not in this module. A built-in module is loaded once per process,
 * while this one can be loaded more than once (jest loads it again for each test file, with a
 * `process` and `globalThis` of that file's own); each load would add collectors that are never
 * stopped, and they keep that load's whole module graph alive: ~14 MB per test file, over a
 * gigabyte in one jest worker over the suite.
 */
const PROCESS_REGISTRY = Symbol.for('vega.metrics.processRegistry');
const holder = performance as unknown as { [PROCESS_REGISTRY]?: Registry };

/**
 * Gauges that prom-client names with a `_total` suffix, which Prometheus reserves for counters
 * (`promtool check metrics` rejects them). Each is the sum of a by-type gauge that stays
 * (`nodejs_active_handles{type}`…), so nothing is lost.
 */
const MISNAMED_DEFAULTS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

/**
 * prom-client's default metrics (CPU, memory, heap, GC, event-loop lag, handles) describe the
 * process, and their collectors (an event-loop delay monitor, a GC observer) cannot be stopped:
 * they are set up once per process, not once per app instance.
 */
function processMetrics(): Registry {
  let processRegistry = holder[PROCESS_REGISTRY];
  if (!processRegistry) {
    processRegistry = holder[PROCESS_REGISTRY] = new Registry();
    // The lag histogram samples the loop every 100 ms rather than prom-client's 10 ms: a timer
    // every 10 ms woke an idle server 100 times a second for a gauge that is scraped every 15 s.
    collectDefaultMetrics({ register: processRegistry, eventLoopMonitoringPrecision: 100 });
    for (const name of MISNAMED_DEFAULTS) processRegistry.removeSingleMetric(name);
  }
  return processRegistry;
}

/** The app's registry: every `vega_*` metric, scraped together with the process metrics. */
export class MetricsRegistry {
  readonly registry = new Registry();
  readonly contentType = Registry.PROMETHEUS_CONTENT_TYPE;

  constructor() {
    processMetrics();
  }

  /** Registers one of our hot-path families (they expose prom-client's `get()` shape). */
  registerFamily(family: CounterFamily | HistogramFamily): void {
    this.registry.registerMetric(family as unknown as Metric);
  }

  /** The Prometheus text exposition of the process and app metrics. */
  scrape(): Promise<string> {
    return Registry.merge([processMetrics(), this.registry]).metrics();
  }
}
