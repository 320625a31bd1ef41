import { UsageError } from '../cli-errors';

const SESSION_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** A session id as the API accepts it (letters, digits, `_`, `-`; at most 64). */
export function parseSessionId(value: string, what = '--session'): string {
  if (!SESSION_ID.test(value)) throw new UsageError(`${what} must be 1..64 letters, digits, _ or - (got "${value}")`);
  return value;
}

/** An integer in `[min, max]`, for `what` (an option or argument name). */
export function parseInteger(value: string, what: string, min: number, max: number): number {
  const trimmed = value.trim();
  const number = /^-?\d+$/.test(trimmed) ? Number(trimmed) : Number.NaN;
  if (!Number.isSafeInteger(number) || number < min || number > max) {
    throw new UsageError(`${what} must be an integer between ${min} and ${max} (got "${value}")`);
  }
  return number;
}

/** A non-empty text value. */
export function parseText(value: string, what: string): string {
  if (value.trim() === '') throw new UsageError(`${what} must not be empty`);
  return value;
}

/** A comma list of exchange statuses (`ok,cached`), each one of `allowed`, as `GET /history?status=` takes it. */
export function parseStatusList<S extends string>(value: string, what: string, allowed: readonly S[]): S[] {
  const statuses = value.split(',').map((status) => status.trim());
  const unknown = statuses.filter((status) => !(allowed as readonly string[]).includes(status));
  if (unknown.length > 0 || statuses.length === 0) {
    throw new UsageError(`${what} takes a comma list of ${allowed.join(', ')} (got "${value}")`);
  }
  return statuses as S[];
}
