/** How an audited call ended: answered in full, refused or failed, or cut short by the client. */
export const AUDIT_OUTCOMES = ['ok', 'error', 'aborted'] as const;
export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number];

/** One audited call (model management today): who, what, when, how it ended. */
export interface AuditEntry {
  at: Date;
  /** The id of the API key (`primary`, `extra-1`…), never the key. */
  keyId: string;
  /** Method and route pattern, e.g. `POST /api/pull`. */
  route: string;
  /** The models the call names (a copy names two); empty for a blob. */
  models: string[];
  outcome: AuditOutcome;
  /** The HTTP status the client got (200 for a stream that ended in an `{"error"}` line). */
  status: number;
  durationMs: number;
  /** A short note: the error, the blob digest, the base model of a create. */
  detail: string | null;
}

export interface AuditRecord extends AuditEntry {
  id: number;
}

export interface AuditFilter {
  /** A route (`/api/pull`, any method) or a method and route (`DELETE /api/delete`). */
  route?: string;
  outcome?: AuditOutcome;
  /** At or after this time. */
  since?: Date;
}

/** The audit log: appended to by the audited routes, read newest first by the admin. */
export abstract class AuditLogRepository {
  abstract append(entry: AuditEntry): Promise<void>;
  /** Up to `limit` entries below `beforeId` (all when absent), newest first. */
  abstract list(filter: AuditFilter, page: { limit: number; beforeId?: number }): Promise<AuditRecord[]>;
}
