/**
 * Counter and histogram families for the per-request hot path. prom-client's own metrics hash
 * their label object into a string on every update (about 0.8 µs and a few allocations per
 * request for a histogram plus a counter); here a caller resolves a series once, keeps it, and
 * an update is plain arithmetic on numbers. The families expose prom-client's `get()` shape,
 * so the registry formats them like its own metrics.
 */

type Labels = Readonly<Record<string, string>>;

interface ExposedValue {
  value: number;
  labels: Record<string, string | number>;
  metricName?: string;
}

export interface ExposedMetric {
  name: string;
  help: string;
  type: 'counter' | 'histogram';
  values: ExposedValue[];
  aggregator: 'sum';
}

export class CounterSeries {
  value = 0;
  constructor(readonly labels: Labels) {}

  inc(by = 1): void {
    this.value += by;
  }
}

export class HistogramSeries {
  /** Observations per bucket (not cumulative); the last slot is `+Inf`. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(
    readonly labels: Labels,
    private readonly bounds: readonly number[],
  ) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i += 1;
    this.counts[i] += 1;
    this.sum += value;
    this.count += 1;
  }
}

abstract class Family<S extends { labels: Labels }> {
  private readonly series = new Map<string, S>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
  ) {}

  /** The series for these label values (in `labelNames` order), created on first use. Callers keep it. */
  with(...values: string[]): S {
    const key = values.join('\u0000');
    let found = this.series.get(key);
    if (!found) {
      const labels: Record<string, string> = {};
      this.labelNames.forEach((name, index) => (labels[name] = values[index] ?? ''));
      found = this.create(Object.freeze(labels));
      this.series.set(key, found);
    }
    return found;
  }

  reset(): void {
    this.series.clear();
  }

  protected all(): IterableIterator<S> {
    return this.series.values();
  }

  protected abstract create(labels: Labels): S;
}

export class CounterFamily extends Family<CounterSeries> {
  readonly type = 'counter';

  get(): ExposedMetric {
    const values: ExposedValue[] = [];
    for (const series of this.all()) values.push({ value: series.value, labels: { ...series.labels } });
    return { name: this.name, help: this.help, type: 'counter', values, aggregator: 'sum' };
  }

  protected create(labels: Labels): CounterSeries {
    return new CounterSeries(labels);
  }
}

export class HistogramFamily extends Family<HistogramSeries> {
  readonly type = 'histogram';

  constructor(name: string, help: string, labelNames: readonly string[], readonly buckets: readonly number[]) {
    super(name, help, labelNames);
  }

  get(): ExposedMetric {
    const values: ExposedValue[] = [];
    for (const series of this.all()) {
      let cumulative = 0;
      this.buckets.forEach((le, index) => {
        cumulative += series.counts[index]!;
        values.push({ metricName: `${this.name}_bucket`, labels: { ...series.labels, le }, value: cumulative });
      });
      values.push({ metricName: `${this.name}_bucket`, labels: { ...series.labels, le: '+Inf' }, value: series.count });
      values.push({ metricName: `${this.name}_sum`, labels: { ...series.labels }, value: series.sum });
      values.push({ metricName: `${this.name}_count`, labels: { ...series.labels }, value: series.count });
    }
    return { name: this.name, help: this.help, type: 'histogram', values, aggregator: 'sum' };
  }

  protected create(labels: Labels): HistogramSeries {
    return new HistogramSeries(labels, this.buckets);
  }
}
