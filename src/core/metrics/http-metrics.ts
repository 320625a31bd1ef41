import { CounterFamily, CounterSeries, HistogramFamily, HistogramSeries } from './metric-families';

/** Route label of requests that matched no route (404s, scans): one value, whatever the URL. */
export const UNMATCHED_ROUTE = 'unmatched';

/** Seconds; chat requests run from a millisecond (cache) to minutes (long generations). */
const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

interface RouteSeries {
  requests: CounterSeries;
  duration: HistogramSeries;
}

/**
 * HTTP request count and latency by method, route template and status. The labels are bounded:
 * the route is Fastify's template (`/conversations/:id`, never the raw URL), methods are the
 * ones Node's parser accepts, statuses are three digits. A request costs three map look-ups
 * and a few additions; series are resolved once per (route, method, status).
 */
export class HttpMetrics {
  readonly requests = new CounterFamily(
    'vega_http_requests_total',
    'HTTP requests answered, by method, route template and status (499: the client went away first).',
    ['method', 'route', 'status'],
  );
  readonly duration = new HistogramFamily(
    'vega_http_request_duration_seconds',
    'Time from the request arriving to the response finishing (for streams: the end of the stream), by method, route template and status.',
    ['method', 'route', 'status'],
    DURATION_BUCKETS,
  );
  /** Requests that have arrived / that have been answered or abandoned; the difference is in flight. */
  started = 0;
  finished = 0;
  private readonly byRoute = new Map<string, Map<string, Map<number, RouteSeries>>>();

  record(method: string, route: string, status: number, seconds: number): void {
    this.finished += 1;
    let byMethod = this.byRoute.get(route);
    if (!byMethod) this.byRoute.set(route, (byMethod = new Map()));
    let byStatus = byMethod.get(method);
    if (!byStatus) byMethod.set(method, (byStatus = new Map()));
    let series = byStatus.get(status);
    if (!series) {
      const labels = [method, route, String(status)];
      series = { requests: this.requests.with(...labels), duration: this.duration.with(...labels) };
      byStatus.set(status, series);
    }
    series.requests.inc();
    series.duration.observe(seconds);
  }

  get inFlight(): number {
    return this.started - this.finished;
  }
}
