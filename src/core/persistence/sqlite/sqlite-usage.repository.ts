import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { storedTs } from './sqlite-time';
import { BUCKET_COLUMNS, bucketSql } from './usage-rollup';
import { splitUsageRange, UsageReportBuilder, UsageSums } from '../usage-report-builder';
import { UsageDimension, UsageReport, UsageRepository } from '../usage.repository';

/** Each dimension in the rollup (null key and model stored as '') and in the rows themselves (the same values). */
const ROLLUP_SQL: Record<UsageDimension, string> = { key: 'key_id', model: 'model', day: 'day', lane: 'source' };
const ROW_SQL: Record<UsageDimension, string> = { key: "coalesce(key_id, '')", model: "coalesce(model, '')", day: 'substr(ts, 1, 10)', lane: 'source' };

const SUMS = 'SUM(requests) AS requests, SUM(prompt_tokens) AS prompt_tokens, SUM(completion_tokens) AS completion_tokens, SUM(model_ms) AS model_ms, SUM(errors) AS errors';
const ROW_SUMS = `COUNT(*) AS requests, TOTAL(prompt_tokens) AS prompt_tokens, TOTAL(completion_tokens) AS completion_tokens, TOTAL(model_ms) AS model_ms, TOTAL(status = 'error') AS errors`;

/**
 * Reads the daily rollup (`usage_daily`, see usage-rollup.ts) for the whole UTC days of the range
 * and the rows themselves (on the covering index `ix_conv_usage`) for the partial days at its ends;
 * `UsageReportBuilder` merges them. Percentiles come from the duration histograms, interpolated within a bucket.
 */
@Injectable()
export class SqliteUsageRepository extends UsageRepository {
  constructor(private readonly dataSource: DataSource) {
    super();
  }

  async report(range: { from: Date; to: Date }, groupBy: readonly UsageDimension[]): Promise<UsageReport> {
    const builder = new UsageReportBuilder(groupBy);
    const { days, rows } = splitUsageRange(range);
    if (days) {
      for (const row of await this.rollup(groupBy, days.from, days.to)) {
        const buckets = JSON.parse(row.buckets) as number[];
        builder.add(row, (i) => buckets[i]!);
      }
    }
    for (const part of rows) {
      for (const row of await this.rows(groupBy, part.from, part.to)) builder.add(row, (i) => (i === row.k ? row.requests : 0));
    }
    const ids = builder.keyIds();
    const names = new Map<string, string>();
    if (ids.length > 0) {
      const found = (await this.dataSource.query(`SELECT id, name FROM api_keys WHERE id IN (${ids.map(() => '?').join(', ')})`, ids)) as { id: string; name: string }[];
      for (const row of found) names.set(row.id, row.name);
    }
    return builder.finish(names);
  }

  /**
   * The rollup's sums per group; the histogram as one JSON array (`buckets`): 70 columns per row made
   * the driver build an object of 75 properties per group, and a year by day and key (~3,000 groups)
   * grew the heap by over 100 MB that the process kept.
   */
  private rollup(groupBy: readonly UsageDimension[], fromDay: string, toDay: string): Promise<(UsageSums & { buckets: string })[]> {
    const [g0, g1] = groupBy.map((dimension) => ROLLUP_SQL[dimension]);
    return this.dataSource.query(
      `SELECT ${g0} AS g0, ${g1 ?? 'NULL'} AS g1, ${SUMS}, json_array(${BUCKET_COLUMNS.map((column) => `SUM(${column})`).join(', ')}) AS buckets
       FROM usage_daily WHERE day >= ? AND day < ? GROUP BY 1, 2 HAVING SUM(requests) > 0`,
      [fromDay, toDay],
    );
  }

  /** The rows of a partial day, by group and duration bucket `k`. */
  private rows(groupBy: readonly UsageDimension[], from: Date, to: Date): Promise<(UsageSums & { k: number })[]> {
    const [g0, g1] = groupBy.map((dimension) => ROW_SQL[dimension]);
    return this.dataSource.query(
      `SELECT ${g0} AS g0, ${g1 ?? 'NULL'} AS g1, ${bucketSql('duration_ms')} AS k, ${ROW_SUMS}
       FROM conversations WHERE ts >= ? AND ts < ? GROUP BY 1, 2, 3`,
      [storedTs(from), storedTs(to)],
    );
  }
}
