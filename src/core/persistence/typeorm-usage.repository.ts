import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { storedTs } from './exchange-row';
import { UsageDimension, UsageFigures, UsageGroup, UsageReport, UsageRepository } from './usage.repository';

/** The column (or expression) of each dimension; all of them are in the covering index `ix_conv_usage`. */
const DIMENSION_SQL: Record<UsageDimension, string> = {
  key: 'key_id',
  model: 'model',
  day: 'substr(ts, 1, 10)',
  lane: 'source',
};

interface UsageRow {
  g0: string | null;
  g1: string | null;
  key_name: string | null;
  requests: number;
  prompt_tokens: number;
  completion_tokens: number;
  model_ms: number;
  errors: number;
  p50: number | null;
  p95: number | null;
  /** The smallest duration at or above the whole range's 50th/95th rank, in this group (see below). */
  t50: number | null;
  t95: number | null;
}

/**
 * One statement, one pass over the range on the covering index `ix_conv_usage` (ts first, then
 * every column read: no table row is touched). Percentiles are exact (nearest rank): each row is
 * ranked by duration within its group and within the whole range (window functions), and a
 * group keeps the smallest duration at or past the 50th and 95th rank of both. The whole range's
 * percentile is then the smallest of the groups' values, so the totals need no second pass.
 */
@Injectable()
export class TypeOrmUsageRepository extends UsageRepository {
  constructor(private readonly dataSource: DataSource) {
    super();
  }

  async report(range: { from: Date; to: Date }, groupBy: readonly UsageDimension[]): Promise<UsageReport> {
    const [first, second] = groupBy;
    const g0 = DIMENSION_SQL[first!];
    const g1 = second === undefined ? 'NULL' : DIMENSION_SQL[second];
    const keyColumn = first === 'key' ? 'g0' : second === 'key' ? 'g1' : null;
    const rows = (await this.dataSource.query(
      `WITH ranked AS (
         SELECT ${g0} AS g0, ${g1} AS g1, prompt_tokens, completion_tokens, model_ms, status, duration_ms,
           ROW_NUMBER() OVER (PARTITION BY ${g0}, ${g1} ORDER BY duration_ms NULLS LAST) AS n,
           COUNT(duration_ms) OVER (PARTITION BY ${g0}, ${g1}) AS c,
           ROW_NUMBER() OVER (ORDER BY duration_ms NULLS LAST) AS tn,
           COUNT(duration_ms) OVER () AS tc
         FROM conversations
         WHERE ts >= ? AND ts < ?
       ),
       grouped AS (
         SELECT g0, g1, COUNT(*) AS requests,
           TOTAL(prompt_tokens) AS prompt_tokens, TOTAL(completion_tokens) AS completion_tokens,
           TOTAL(model_ms) AS model_ms, TOTAL(status = 'error') AS errors,
           MIN(CASE WHEN n >= 0.5 * c THEN duration_ms END) AS p50,
           MIN(CASE WHEN n >= 0.95 * c THEN duration_ms END) AS p95,
           MIN(CASE WHEN tn >= 0.5 * tc THEN duration_ms END) AS t50,
           MIN(CASE WHEN tn >= 0.95 * tc THEN duration_ms END) AS t95
         FROM ranked GROUP BY g0, g1
       )
       SELECT grouped.*, ${keyColumn === null ? 'NULL' : `coalesce(k.name, grouped.${keyColumn})`} AS key_name
       FROM grouped ${keyColumn === null ? '' : `LEFT JOIN api_keys k ON k.id = grouped.${keyColumn}`}
       ORDER BY ${order(keyColumn === 'g0' ? 'key_name' : 'g0')}, ${order(keyColumn === 'g1' ? 'key_name' : 'g1')}`,
      [storedTs(range.from), storedTs(range.to)],
    )) as UsageRow[];

    const totals: UsageFigures = { requests: 0, promptTokens: 0, completionTokens: 0, modelMs: 0, errors: 0, p50Ms: null, p95Ms: null };
    const groups = rows.map((row) => {
      totals.requests += row.requests;
      totals.promptTokens += row.prompt_tokens;
      totals.completionTokens += row.completion_tokens;
      totals.modelMs += row.model_ms;
      totals.errors += row.errors;
      totals.p50Ms = smallest(totals.p50Ms, row.t50);
      totals.p95Ms = smallest(totals.p95Ms, row.t95);
      const group: UsageGroup = {
        requests: row.requests,
        promptTokens: row.prompt_tokens,
        completionTokens: row.completion_tokens,
        modelMs: row.model_ms,
        errors: row.errors,
        p50Ms: row.p50,
        p95Ms: row.p95,
      };
      groupBy.forEach((dimension, index) => setDimension(group, dimension, index === 0 ? row.g0 : row.g1, row.key_name));
      return group;
    });
    return { groups, totals };
  }
}

/** Ascending, the groups without a value (no key, no model) last; keys by the name shown. */
const order = (column: string): string => `${column} IS NULL, ${column}`;

const smallest = (a: number | null, b: number | null): number | null => (a === null ? b : b === null ? a : Math.min(a, b));

function setDimension(group: UsageGroup, dimension: UsageDimension, value: string | null, keyName: string | null): void {
  if (dimension === 'key') {
    group.keyId = value;
    group.keyName = keyName;
  } else if (dimension === 'model') group.model = value;
  else if (dimension === 'day') group.day = value ?? undefined;
  else group.lane = value ?? undefined;
}
