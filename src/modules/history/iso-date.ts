const CALENDAR_DATE = /^\d{4}-\d\d-\d\d$/;
const DATE_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:?\d\d)?$/i;

/**
 * A calendar date or a date-time → Date; a date-time without an offset is read as UTC. Other
 * ISO 8601 shapes (week or ordinal dates, bare years) give an invalid Date, which the service refuses.
 */
export function parseIsoUtc(value: string | undefined): Date | undefined {
  if (value === undefined) return undefined;
  if (CALENDAR_DATE.test(value)) return new Date(`${value}T00:00:00Z`);
  const match = DATE_TIME.exec(value);
  if (!match) return new Date(Number.NaN);
  return new Date(match[3] ? value : `${value}Z`);
}
