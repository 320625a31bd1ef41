import { Injectable } from '@nestjs/common';
import { InvalidInputError } from '../../common/errors/app-errors';
import { USAGE_DIMENSIONS, UsageDimension, UsageReport, UsageRepository } from '../../core/persistence/usage.repository';
import { parseIsoUtc } from '../history/iso-date';

const DAY_MS = 86_400_000;
/** The range of a report that names neither end. */
export const DEFAULT_USAGE_DAYS = 30;
const CALENDAR_DATE = /^\d{4}-\d\d-\d\d$/;
export const groupByMessage = (what = 'group_by') => `${what} must be one or two of ${USAGE_DIMENSIONS.join(', ')}, comma-separated (e.g. day,key)`;
export const timeMessage = (what: string) => `${what} must be an ISO 8601 date or date-time, e.g. 2026-11-01 or 2026-11-01T12:00:00Z`;

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

/** `day,key` → `['day', 'key']`; absent: by key. `what` names the parameter in the message. */
export function parseGroupBy(value: string | undefined, what = 'group_by'): UsageDimension[] {
  if (value === undefined) return ['key'];
  const parts = value.split(',').map((part) => part.trim());
  if (parts.length > 2 || parts.some((part) => !(USAGE_DIMENSIONS as readonly string[]).includes(part)) || parts[0] === parts[1]) {
    throw new InvalidInputError(groupByMessage(what));
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
    if (value === undefined) return undefined;
    const parsed = parseUsageTime(value, name);
    return name === 'to' && CALENDAR_DATE.test(value) ? new Date(parsed.getTime() + DAY_MS) : parsed;
  };
  const to = at('to') ?? now;
  const from = at('from') ?? new Date(to.getTime() - DEFAULT_USAGE_DAYS * DAY_MS);
  if (from.getTime() >= to.getTime()) throw new InvalidInputError('from must be before to');
  return { from, to };
}

/** A date or date-time (UTC unless it has an offset); `what` names the parameter in the message. */
export function parseUsageTime(value: string, what: string): Date {
  const parsed = parseIsoUtc(value)!;
  if (Number.isNaN(parsed.getTime())) throw new InvalidInputError(timeMessage(what));
  return parsed;
}
