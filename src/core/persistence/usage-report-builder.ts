import { bucketBounds, LATENCY_BUCKETS } from './sqlite/usage-rollup';
import type { UsageDimension, UsageFigures, UsageGroup, UsageReport } from './usage.repository';

/** One group's sums as a dialect reads them (from the rollup or from the rows); '' is "none" (no key, no model). */
export interface UsageSums {
  g0: string;
  g1: string | null;
  requests: number;
  prompt_tokens: number;
  completion_tokens: number;
  model_ms: number;
  errors: number;
}

interface Accumulated {
  values: (string | null)[];
  requests: number;
  promptTokens: number;
  completionTokens: number;
  modelMs: number;
  errors: number;
  histogram: number[];
}

/**
 * Merges the sums a dialect reads (the daily rollup for whole days, the rows for the partial days
 * at the range's ends) into one report, whatever the engine: groups in order, key names, totals,
 * and the nearest-rank percentiles from the duration histograms (see usage-rollup.ts).
 */
export class UsageReportBuilder {
  private readonly groups = new Map<string, Accumulated>();

  constructor(private readonly groupBy: readonly UsageDimension[]) {}

  /** Adds one group's sums and its histogram (`histogram(i)`: the count in bucket i). Numbers may come as text (bigint sums). */
  add(row: UsageSums, histogram: (index: number) => number): void {
    const values = [row.g0, row.g1].slice(0, this.groupBy.length);
    const id = JSON.stringify(values);
    let found = this.groups.get(id);
    if (!found) {
      found = { values, requests: 0, promptTokens: 0, completionTokens: 0, modelMs: 0, errors: 0, histogram: new Array<number>(LATENCY_BUCKETS).fill(0) };
      this.groups.set(id, found);
    }
    found.requests += Number(row.requests);
    found.promptTokens += Number(row.prompt_tokens);
    found.completionTokens += Number(row.completion_tokens);
    found.modelMs += Number(row.model_ms);
    found.errors += Number(row.errors);
    for (let i = 0; i < LATENCY_BUCKETS; i += 1) found.histogram[i] += Number(histogram(i));
  }

  /** The key ids among the groups (when grouped by key), for `finish`'s names. */
  keyIds(): string[] {
    const keyAt = this.groupBy.indexOf('key');
    if (keyAt < 0) return [];
    return [...new Set([...this.groups.values()].map((group) => group.values[keyAt]).filter((id): id is string => !!id))];
  }

  /** The report; `names` maps a managed key's id to its name (a bootstrap key id is its own name). */
  finish(names: ReadonlyMap<string, string>): UsageReport {
    const groupBy = this.groupBy;
    const accumulated = [...this.groups.values()];
    const keyAt = groupBy.indexOf('key');
    for (const group of accumulated) group.values = group.values.map((value) => (value === '' ? null : value));
    const shown = (group: Accumulated, index: number) => {
      const value = group.values[index] ?? null;
      return index === keyAt && value !== null ? (names.get(value) ?? value) : value;
    };
    accumulated.sort((a, b) => {
      for (let index = 0; index < groupBy.length; index += 1) {
        const order = compare(shown(a, index), shown(b, index));
        if (order !== 0) return order;
      }
      return 0;
    });

    const totalHistogram = new Array<number>(LATENCY_BUCKETS).fill(0);
    const totals: UsageFigures = { requests: 0, promptTokens: 0, completionTokens: 0, modelMs: 0, errors: 0, p50Ms: null, p95Ms: null };
    const groups = accumulated.map((group) => {
      totals.requests += group.requests;
      totals.promptTokens += group.promptTokens;
      totals.completionTokens += group.completionTokens;
      totals.modelMs += group.modelMs;
      totals.errors += group.errors;
      group.histogram.forEach((count, i) => (totalHistogram[i] += count));
      const result: UsageGroup = {
        requests: group.requests,
        promptTokens: group.promptTokens,
        completionTokens: group.completionTokens,
        modelMs: group.modelMs,
        errors: group.errors,
        p50Ms: percentile(group.histogram, 0.5),
        p95Ms: percentile(group.histogram, 0.95),
      };
      groupBy.forEach((dimension, index) => {
        const value = group.values[index] ?? null;
        if (dimension === 'key') Object.assign(result, { keyId: value, keyName: shown(group, index) });
        else if (dimension === 'model') result.model = value;
        else if (dimension === 'day') result.day = value ?? undefined;
        else result.lane = value ?? undefined;
      });
      return result;
    });
    totals.p50Ms = percentile(totalHistogram, 0.5);
    totals.p95Ms = percentile(totalHistogram, 0.95);
    return { groups, totals };
  }
}

const DAY_MS = 86_400_000;

/**
 * Splits a range into the whole UTC days the rollup answers (`days`, `YYYY-MM-DD` bounds, end
 * exclusive) and the partial days at its ends that the rows themselves answer (`rows`).
 */
export function splitUsageRange(range: { from: Date; to: Date }): { days?: { from: string; to: string }; rows: { from: Date; to: Date }[] } {
  const from = range.from.getTime();
  const to = range.to.getTime();
  const firstDay = Math.ceil(from / DAY_MS) * DAY_MS;
  const endDay = Math.floor(to / DAY_MS) * DAY_MS;
  if (firstDay >= endDay) return { rows: [{ from: range.from, to: range.to }] };
  const rows: { from: Date; to: Date }[] = [];
  if (from < firstDay) rows.push({ from: range.from, to: new Date(firstDay) });
  if (endDay < to) rows.push({ from: new Date(endDay), to: range.to });
  return { days: { from: utcDay(firstDay), to: utcDay(endDay) }, rows };
}

const utcDay = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

/** Ascending; groups without a value (no key, no model) last. */
function compare(a: string | null, b: string | null): number {
  if (a === b) return 0;
  if (a === null) return 1;
  if (b === null) return -1;
  return a < b ? -1 : 1;
}

/** The nearest-rank percentile `p` of a duration histogram, placed within its bucket by rank; null when empty. */
export function percentile(histogram: readonly number[], p: number): number | null {
  const count = histogram.reduce((sum, value) => sum + value, 0);
  if (count === 0) return null;
  const rank = Math.ceil(p * count);
  let before = 0;
  for (let i = 0; i < histogram.length; i += 1) {
    const inBucket = histogram[i]!;
    if (before + inBucket >= rank) {
      const [low, high] = bucketBounds(i);
      return Math.round(low + ((high - low) * (rank - before - 0.5)) / inBucket);
    }
    before += inBucket;
  }
  return null;
}
