import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { DatabaseHealth } from '../database-health';
import { BUCKET_COLUMNS } from '../sqlite/usage-rollup';
import { splitUsageRange, UsageReportBuilder, UsageSums } from '../usage-report-builder';
import { UsageDimension, UsageReport, UsageRepository } from '../usage.repository';
import { bucket } from './pg-usage-rollup';
import { SqlParams } from './sql-params';

/** Each dimension in the rollup (null key and model stored as '') and in the rows themselves (the same values). */
const ROLLUP_SQL: Record<UsageDimension, string> = { key: 'key_id', model: 'model', day: `to_char(day, 'YYYY-MM-DD')`, lane: 'source' };
const ROW_SQL: Record<UsageDimension, string> = {
  key: "coalesce(key_id, '')",
  model: "coalesce(model, '')",
  day: `to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD')`,
  lane: 'source',
};

const SUMS = 'sum(requests) AS requests, sum(prompt_tokens) AS prompt_tokens, sum(completion_tokens) AS completion_tokens, sum(model_ms) AS model_ms, sum(errors) AS errors';
const ROW_SUMS = `count(*) AS requests, coalesce(sum(prompt_tokens), 0) AS prompt_tokens, coalesce(sum(completion_tokens), 0) AS completion_tokens,
  coalesce(sum(model_ms), 0) AS model_ms, count(*) FILTER (WHERE status = 'error') AS errors`;

/**
 * Reads the daily rollup (`usage_daily`, kept by the triggers of pg-usage-rollup.ts) for the whole
 * UTC days of the range and the rows themselves (on the covering index `ix_conv_usage`) for the
 * partial days at its ends; `UsageReportBuilder` merges them as on SQLite, percentiles included
 * (from the duration histograms: a 30-day report reads 30 rollup days, not a month of rows).
 */
@Injectable()
export class PostgresUsageRepository extends UsageRepository {
  constructor(
    private readonly dataSource: DataSource,
    private readonly health: DatabaseHealth,
  ) {
    super();
  }

  /** The report; a server that is down or too slow fails it as `DatabaseUnavailableError` (503). */
  report(range: { from: Date; to: Date }, groupBy: readonly UsageDimension[]): Promise<UsageReport> {
    return this.health.guard(this.build(range, groupBy));
  }

  private async build(range: { from: Date; to: Date }, groupBy: readonly UsageDimension[]): Promise<UsageReport> {
    const builder = new UsageReportBuilder(groupBy);
    const { days, rows } = splitUsageRange(range);
    if (days) {
      for (const row of await this.rollup(groupBy, days.from, days.to)) builder.add(row, (i) => row.buckets[i]!);
    }
    for (const part of rows) {
      for (const row of await this.rows(groupBy, part.from, part.to)) builder.add(row, (i) => (i === row.k ? Number(row.requests) : 0));
    }
    const ids = builder.keyIds();
    const names = new Map<string, string>();
    if (ids.length > 0) {
      const found: { id: string; name: string }[] = await this.dataSource.query(`SELECT id, name FROM api_keys WHERE id = ANY($1)`, [ids]);
      for (const row of found) names.set(row.id, row.name);
    }
    return builder.finish(names);
  }

  /** The rollup's sums per group; the histogram as one array (`buckets`, as on SQLite: see there why). */
  private rollup(groupBy: readonly UsageDimension[], fromDay: string, toDay: string): Promise<(UsageSums & { buckets: number[] })[]> {
    const [g0, g1] = groupBy.map((dimension) => ROLLUP_SQL[dimension]);
    const params = new SqlParams();
    return this.dataSource.query(
      `SELECT ${g0} AS g0, ${g1 ?? 'NULL'} AS g1, ${SUMS}, ARRAY[${BUCKET_COLUMNS.map((column) => `sum(${column})`).join(', ')}]::float8[] AS buckets
         FROM usage_daily WHERE day >= ${params.bind(fromDay)}::date AND day < ${params.bind(toDay)}::date
        GROUP BY 1, 2 HAVING sum(requests) > 0`,
      params.values,
    );
  }

  /** The rows of a partial day, by group and duration bucket `k`. */
  private rows(groupBy: readonly UsageDimension[], from: Date, to: Date): Promise<(UsageSums & { k: number })[]> {
    const [g0, g1] = groupBy.map((dimension) => ROW_SQL[dimension]);
    return this.dataSource.query(
      `SELECT ${g0} AS g0, ${g1 ?? 'NULL'} AS g1, ${bucket('duration_ms')} AS k, ${ROW_SUMS}
         FROM conversations WHERE ts >= $1 AND ts < $2 GROUP BY 1, 2, 3`,
      [from, to],
    );
  }
}
