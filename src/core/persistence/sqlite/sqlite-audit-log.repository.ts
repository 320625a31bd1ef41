import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AuditEntry, AuditFilter, AuditLogRepository, AuditRecord } from '../audit-log.repository';
import { AUDIT_DETAIL_MAX_CHARS, type AuditRow, toRecord } from '../audit-row';

/** `audit_log` in the app's SQLite file; times are stored as ISO 8601 UTC text, which sorts as time. */
@Injectable()
export class SqliteAuditLogRepository extends AuditLogRepository {
  constructor(private readonly dataSource: DataSource) {
    super();
  }

  async append(entry: AuditEntry): Promise<void> {
    const detail = entry.detail === null ? null : entry.detail.slice(0, AUDIT_DETAIL_MAX_CHARS);
    await this.dataSource.query(
      `INSERT INTO audit_log (ts, key_id, route, models, outcome, status, duration_ms, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      [entry.at.toISOString(), entry.keyId, entry.route, JSON.stringify(entry.models), entry.outcome, entry.status, Math.round(entry.durationMs), detail],
    );
  }

  async list(filter: AuditFilter, page: { limit: number; beforeId?: number }): Promise<AuditRecord[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (page.beforeId !== undefined) {
      where.push('id < ?');
      params.push(page.beforeId);
    }
    if (filter.route !== undefined) {
      // `route` is `METHOD /path`: a bare path matches it under any method.
      where.push(`(route = ? OR substr(route, instr(route, ' ') + 1) = ?)`);
      params.push(filter.route, filter.route);
    }
    if (filter.outcome !== undefined) {
      where.push('outcome = ?');
      params.push(filter.outcome);
    }
    if (filter.since !== undefined) {
      where.push('ts >= ?');
      params.push(filter.since.toISOString());
    }
    const rows = (await this.dataSource.query(
      `SELECT id, ts, key_id, route, models, outcome, status, duration_ms, detail FROM audit_log
       ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`,
      [...params, page.limit],
    )) as AuditRow[];
    return rows.map(toRecord);
  }
}
