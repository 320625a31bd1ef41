import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { storedTs } from './sqlite-time';
import { BUCKET_COLUMNS, bucketBounds, bucketSql, LATENCY_BUCKETS } from './usage-rollup';
import { UsageDimension, UsageFigures, UsageGroup, UsageReport, UsageRepository } from '../usage.repository';

const DAY_MS = 86_400_000;

/** Each dimension in the rollup (null key and model stored as '') and in the rows themselves (the same values). */
const ROLLUP_SQL: Record<UsageDimension, string> = { key: 'key_id', model: 'model', day: 'day', lane: 'source' };
const ROW_SQL: Record<UsageDimension, string> = { key: "coalesce(key_id, '')", model: "coalesce(model, '')", day: 'substr(ts, 1, 10)', lane: 'source' };

interface SumRow {
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

const SUMS = 'SUM(requests) AS requests, SUM(prompt_tokens) AS prompt_tokens, SUM(completion_tokens) AS completion_tokens, SUM(model_ms) AS model_ms, SUM(errors) AS errors';
const ROW_SUMS = `COUNT(*) AS requests, TOTAL(prompt_tokens) AS prompt_tokens, TOTAL(completion_tokens) AS completion_tokens, TOTAL(model_ms) AS model_ms, TOTAL(status = 'error') AS errors`;

/**
 * Reads the daily rollup (`usage_daily`, see usage-rollup.ts) for the whole UTC days of the range
 * and the rows themselves (on the covering index `ix_conv_usage`) for the partial days at its ends,
 * then merges them. Percentiles come from the duration histograms, interpolated within a bucket.
 */
@Injectable()
export class SqliteUsageRepository extends UsageRepository {
  constructor(private readonly dataSource: DataSource) {
    super();
  }

  async report(range: { from: Date; to: Date }, groupBy: readonly UsageDimension[]): Promise<UsageReport> {
    const groups = new Map<string, Accumulated>();
    const add = (row: SumRow, histogram: (index: number) => number) => {
      const values = [row.g0, row.g1].slice(0, groupBy.length);
      const id = JSON.stringify(values);
      let found = groups.get(id);
      if (!found) {
        found = { values, requests: 0, promptTokens: 0, completionTokens: 0, modelMs: 0, errors: 0, histogram: new Array<number>(LATENCY_BUCKETS).fill(0) };
        groups.set(id, found);
      }
      found.requests += row.requests;
      found.promptTokens += row.prompt_tokens;
      found.completionTokens += row.completion_tokens;
      found.modelMs += row.model_ms;
      found.errors += row.errors;
      for (let i = 0; i < LATENCY_BUCKETS; i += 1) found.histogram[i] += histogram(i);
    };

    const firstDay = Math.ceil(range.from.getTime() / DAY_MS) * DAY_MS;
    const endDay = Math.floor(range.to.getTime() / DAY_MS) * DAY_MS;
    const rowRanges: [number, number][] = [];
    if (firstDay < endDay) {
      for (const row of await this.rollup(groupBy, day(firstDay), day(endDay))) add(row, (i) => row[BUCKET_COLUMNS[i]!] as number);
      if (range.from.getTime() < firstDay) rowRanges.push([range.from.getTime(), firstDay]);
      if (endDay < range.to.getTime()) rowRanges.push([endDay, range.to.getTime()]);
    } else {
      rowRanges.push([range.from.getTime(), range.to.getTime()]);
    }
    for (const [from, to] of rowRanges) {
      for (const row of await this.rows(groupBy, new Date(from), new Date(to))) add(row, (i) => (i === row.k ? row.requests : 0));
    }
    return this.finish([...groups.values()], groupBy);
  }

  private rollup(groupBy: readonly UsageDimension[], fromDay: string, toDay: string): Promise<(SumRow & Record<string, number>)[]> {
    const [g0, g1] = groupBy.map((dimension) => ROLLUP_SQL[dimension]);
    return this.dataSource.query(
      `SELECT ${g0} AS g0, ${g1 ?? 'NULL'} AS g1, ${SUMS}, ${BUCKET_COLUMNS.map((column) => `SUM(${column}) AS ${column}`).join(', ')}
       FROM usage_daily WHERE day >= ? AND day < ? GROUP BY 1, 2 HAVING SUM(requests) > 0`,
      [fromDay, toDay],
    );
  }

  /** The rows of a partial day, by group and duration bucket `k`. */
  private rows(groupBy: readonly UsageDimension[], from: Date, to: Date): Promise<(SumRow & { k: number })[]> {
    const [g0, g1] = groupBy.map((dimension) => ROW_SQL[dimension]);
    return this.dataSource.query(
      `SELECT ${g0} AS g0, ${g1 ?? 'NULL'} AS g1, ${bucketSql('duration_ms')} AS k, ${ROW_SUMS}
       FROM conversations WHERE ts >= ? AND ts < ? GROUP BY 1, 2, 3`,
      [storedTs(from), storedTs(to)],
    );
  }

  private async finish(accumulated: Accumulated[], groupBy: readonly UsageDimension[]): Promise<UsageReport> {
    const keyAt = groupBy.indexOf('key');
    const names = new Map<string, string>();
    const ids = keyAt < 0 ? [] : [...new Set(accumulated.map((group) => group.values[keyAt]).filter((id): id is string => !!id))];
    if (ids.length > 0) {
      const rows = (await this.dataSource.query(`SELECT id, name FROM api_keys WHERE id IN (${ids.map(() => '?').join(', ')})`, ids)) as { id: string; name: string }[];
      for (const row of rows) names.set(row.id, row.name);
    }
    // '' is "none" (no key, no model); a bootstrap key id is its own name.
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

const day = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

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
