import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AuditEntry, AuditFilter, AuditLogRepository, AuditRecord } from '../audit-log.repository';
import { AUDIT_DETAIL_MAX_CHARS, type AuditRow, toRecord } from '../audit-row';
import { DatabaseHealth } from '../database-health';
import { pgText } from './sql-params';

/** `audit_log` on PostgreSQL: appended to, read newest first by id. */
@Injectable()
export class PostgresAuditLogRepository extends AuditLogRepository {
  constructor(
    private readonly dataSource: DataSource,
    private readonly health: DatabaseHealth,
  ) {
    super();
  }

  /** One statement; a server that is down or too slow fails it as `DatabaseUnavailableError` (503). */
  private query(sql: string, params?: unknown[]): Promise<unknown> {
    return this.health.guard(this.dataSource.query(sql, params));
  }

  async append(entry: AuditEntry): Promise<void> {
    const detail = entry.detail === null ? null : pgText(entry.detail.slice(0, AUDIT_DETAIL_MAX_CHARS));
    await this.query(
      `INSERT INTO audit_log (ts, key_id, route, models, outcome, status, duration_ms, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [entry.at.toISOString(), entry.keyId, entry.route, JSON.stringify(entry.models), entry.outcome, entry.status, Math.round(entry.durationMs), detail],
    );
  }

  async list(filter: AuditFilter, page: { limit: number; beforeId?: number }): Promise<AuditRecord[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    const param = (value: unknown) => `$${params.push(value)}`;
    if (page.beforeId !== undefined) where.push(`id < ${param(page.beforeId)}`);
    if (filter.route !== undefined) {
      // `route` is `METHOD /path`: a bare path matches it under any method.
      const route = param(filter.route);
      where.push(`(route = ${route} OR substr(route, strpos(route, ' ') + 1) = ${route})`);
    }
    if (filter.outcome !== undefined) where.push(`outcome = ${param(filter.outcome)}`);
    if (filter.since !== undefined) where.push(`ts >= ${param(filter.since.toISOString())}`);
    const rows = (await this.query(
      `SELECT id, ts, key_id, route, models, outcome, status, duration_ms, detail FROM audit_log
       ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ${param(page.limit)}`,
      params,
    )) as AuditRow[];
    return rows.map(toRecord);
  }
}
