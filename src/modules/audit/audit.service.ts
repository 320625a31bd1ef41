import { Injectable, Logger } from '@nestjs/common';
import { InvalidInputError } from '../../common/errors/app-errors';
import { AuditEntry, AuditFilter, AuditLogRepository, AuditRecord } from '../../core/persistence/audit-log.repository';
import { decodeCursor, encodeCursor } from '../history/history-cursor';

export interface AuditPage {
  items: AuditRecord[];
  nextCursor: string | null;
}

/** Writes the audit log for the audited routes and pages through it for `GET /admin/audit` and `vega admin audit`. */
@Injectable()
export class AuditService {
  private readonly logger = new Logger('Audit');

  constructor(private readonly log: AuditLogRepository) {}

  /**
   * Appends `entry`. The call it describes is over by now (its answer sent), so a failed write
   * cannot change it: it is logged as an error, with the entry, for the operator.
   */
  async record(entry: AuditEntry): Promise<void> {
    try {
      await this.log.append(entry);
    } catch (error) {
      this.logger.error(
        `audit entry not stored (${error instanceof Error ? error.message : String(error)}): ${entry.route} by ${entry.keyId} → ${entry.outcome} ${entry.status}`,
      );
    }
  }

  /** A page of entries, newest first; `cursor` is the `nextCursor` of the previous page. */
  async page(filter: AuditFilter, page: { limit: number; cursor?: string }): Promise<AuditPage> {
    if (filter.since !== undefined && Number.isNaN(filter.since.getTime())) throw new InvalidInputError('since is not a valid date');
    let beforeId: number | undefined;
    if (page.cursor !== undefined) {
      const cursor = decodeCursor(page.cursor);
      if (cursor.kind !== 'id') throw new InvalidInputError('cursor is not valid: pass back the next_cursor of a previous page');
      beforeId = cursor.id;
    }
    // One more than asked: whether there is a next page, without a count.
    const rows = await this.log.list(filter, { limit: page.limit + 1, beforeId });
    const items = rows.slice(0, page.limit);
    const nextCursor = rows.length > page.limit ? encodeCursor({ kind: 'id', id: items[items.length - 1].id }) : null;
    return { items, nextCursor };
  }
}
