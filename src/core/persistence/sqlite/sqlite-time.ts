/** A time as the SQLite tables store it: UTC `YYYY-MM-DD HH:MM:SS.SSS`, which sorts as time. */
export const storedTs = (date: Date): string => date.toISOString().replace('T', ' ').slice(0, 23);

/** What `storedTs` writes; rows of the Python original have a `T` and microseconds. */
const STORED_TS = /^(\d{4}-\d\d-\d\d)[ T](\d\d:\d\d:\d\d)(\.\d+)?$/;

/**
 * A stored time read back (UTC, to the millisecond). Text in another form (a row edited by hand)
 * is read as `Date` reads it, and as the epoch when even that fails: one odd row must not fail a
 * page of history.
 */
export function fromStoredTs(text: string): Date {
  const match = STORED_TS.exec(text);
  const fraction = match ? (match[3] ?? '.000').padEnd(4, '0').slice(0, 4) : '';
  const date = new Date(match ? `${match[1]}T${match[2]}${fraction}Z` : text);
  return Number.isNaN(date.getTime()) ? new Date(0) : date;
}
