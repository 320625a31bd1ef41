import type { AuditOutcome, AuditRecord } from './audit-log.repository';

/** The longest detail kept: a note, not a transcript. */
export const AUDIT_DETAIL_MAX_CHARS = 500;

export interface AuditRow {
  id: number;
  /** ISO 8601 text (SQLite) or a `Date` (PostgreSQL's timestamptz). */
  ts: string | Date;
  key_id: string;
  route: string;
  models: string;
  outcome: AuditOutcome;
  status: number;
  duration_ms: number;
  detail: string | null;
}

/** A row of `audit_log`, either engine's, as the port's record. */
export function toRecord(row: AuditRow): AuditRecord {
  let models: string[] = [];
  try {
    const parsed = JSON.parse(row.models) as unknown;
    if (Array.isArray(parsed)) models = parsed.filter((model): model is string => typeof model === 'string');
  } catch {
    // written by the audit adapters only; an unreadable value lists no model rather than failing the page
  }
  return {
    id: row.id,
    at: new Date(row.ts),
    keyId: row.key_id,
    route: row.route,
    models,
    outcome: row.outcome,
    status: row.status,
    durationMs: row.duration_ms,
    detail: row.detail,
  };
}
