import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { DatabaseHealth } from '../database-health';
import { KeyUsageSource, SpentSince } from '../../limits/key-usage.source';

/** Sums of bigint columns: the `pg` driver hands them over as text. */
interface SpentRow {
  day_tokens: string | null;
  day_ms: string | null;
  month_tokens: string | null;
  month_ms: string | null;
}

/** A key's tokens and model time since the day's start ($1) and the month's start ($3), its own uncached exchanges ($2). */
export const PG_SPENT_SQL = `SELECT sum(coalesce(prompt_tokens, 0) + coalesce(completion_tokens, 0)) FILTER (WHERE ts >= $1) AS day_tokens,
       sum(coalesce(model_ms, 0)) FILTER (WHERE ts >= $1) AS day_ms,
       sum(coalesce(prompt_tokens, 0) + coalesce(completion_tokens, 0)) AS month_tokens,
       sum(coalesce(model_ms, 0)) AS month_ms
  FROM conversations
 WHERE key_id = $2 AND ts >= $3 AND status <> 'cached'`;

/**
 * Sums one key's rows of this month: one query per key and process, on the first call of the key
 * (the limiter keeps the running figures after). PostgreSQL picks between `ix_conversations_key_id`
 * and the time-first covering index `ix_conv_usage` by its statistics.
 */
@Injectable()
export class PostgresKeyUsageSource extends KeyUsageSource {
  constructor(
    private readonly dataSource: DataSource,
    private readonly health: DatabaseHealth,
  ) {
    super();
  }

  async spent(keyId: string, dayStart: Date, monthStart: Date): Promise<{ day: SpentSince; month: SpentSince }> {
    const rows: SpentRow[] = await this.health.guard(this.dataSource.query(PG_SPENT_SQL, [dayStart, keyId, monthStart]));
    const row = rows[0];
    return {
      day: { tokens: Number(row?.day_tokens ?? 0), modelMs: Number(row?.day_ms ?? 0) },
      month: { tokens: Number(row?.month_tokens ?? 0), modelMs: Number(row?.month_ms ?? 0) },
    };
  }
}
