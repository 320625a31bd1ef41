import { Injectable } from '@nestjs/common';
import { InvalidInputError } from '../../common/errors/app-errors';
import { USAGE_DIMENSIONS, UsageDimension, UsageReport, UsageRepository } from '../../core/persistence/usage.repository';
import { parseIsoUtc } from '../history/iso-date';

const DAY_MS = 86_400_000;
/** The range of a report that names neither end. */
export const DEFAULT_USAGE_DAYS = 30;
const CALENDAR_DATE = /^\d{4}-\d\d-\d\d$/;
export const GROUP_BY_MESSAGE = `group_by must be one or two of ${USAGE_DIMENSIONS.join(', ')}, comma-separated (e.g. day,key)`;

/** What a caller asks for, as typed (query string or CLI options). */
export interface UsageQuery {
  from?: string;
  to?: string;
  groupBy?: string;
}

export interface ResolvedUsageReport extends UsageReport {
  /** The half-open range reported, `[from, to)`. */
  from: Date;
  to: Date;
  groupBy: UsageDimension[];
}

/** Usage per key, model, day or lane from the stored exchanges: `GET /admin/usage` and `vega usage`. */
@Injectable()
export class UsageService {
  constructor(private readonly usage: UsageRepository) {}

  async report(query: UsageQuery, now = new Date()): Promise<ResolvedUsageReport> {
    const groupBy = parseGroupBy(query.groupBy);
    const { from, to } = parseRange(query, now);
    return { from, to, groupBy, ...(await this.usage.report({ from, to }, groupBy)) };
  }
}

/** `day,key` → `['day', 'key']`; absent: by key. */
export function parseGroupBy(value: string | undefined): UsageDimension[] {
  if (value === undefined) return ['key'];
  const parts = value.split(',').map((part) => part.trim());
  if (parts.length > 2 || parts.some((part) => !(USAGE_DIMENSIONS as readonly string[]).includes(part)) || parts[0] === parts[1]) {
    throw new InvalidInputError(GROUP_BY_MESSAGE);
  }
  return parts as UsageDimension[];
}

/**
 * `from` and `to` as dates or date-times (UTC unless an offset is given). A date as `to` includes
 * that whole day. Without `to`, the range ends now; without `from`, it starts 30 days before its end.
 */
export function parseRange(query: Pick<UsageQuery, 'from' | 'to'>, now: Date): { from: Date; to: Date } {
  const at = (name: 'from' | 'to'): Date | undefined => {
    const value = query[name];
    const parsed = parseIsoUtc(value);
    if (parsed !== undefined && Number.isNaN(parsed.getTime())) {
      throw new InvalidInputError(`${name} must be an ISO 8601 date or date-time, e.g. 2026-11-01 or 2026-11-01T12:00:00Z`);
    }
    return parsed !== undefined && name === 'to' && CALENDAR_DATE.test(value!) ? new Date(parsed.getTime() + DAY_MS) : parsed;
  };
  const to = at('to') ?? now;
  const from = at('from') ?? new Date(to.getTime() - DEFAULT_USAGE_DAYS * DAY_MS);
  if (from.getTime() >= to.getTime()) throw new InvalidInputError('from must be before to');
  return { from, to };
}
