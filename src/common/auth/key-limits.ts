import type { KeyLimits } from './principal';

/** The limits' names on the wire (API, CLI, the `limits` column) and in `KeyLimits`. */
export const LIMIT_FIELDS = {
  requests_per_minute: 'requestsPerMinute',
  tokens_per_minute: 'tokensPerMinute',
  concurrent_streams: 'concurrentStreams',
  tokens_per_day: 'tokensPerDay',
  tokens_per_month: 'tokensPerMonth',
  model_seconds_per_day: 'modelSecondsPerDay',
} as const satisfies Record<string, keyof KeyLimits>;

export type LimitName = keyof typeof LIMIT_FIELDS;
export const LIMIT_NAMES = Object.keys(LIMIT_FIELDS) as LimitName[];

/** `KeyLimits` → `{ requests_per_minute: 60, … }` (only the limits that are set). */
export function limitsToWire(limits: KeyLimits): Partial<Record<LimitName, number>> {
  const wire: Partial<Record<LimitName, number>> = {};
  for (const name of LIMIT_NAMES) {
    const value = limits[LIMIT_FIELDS[name]];
    if (value !== undefined) wire[name] = value;
  }
  return wire;
}

/** The stored column back into `KeyLimits`; unknown names and non-numbers (never written) are skipped. */
export function limitsFromWire(wire: Record<string, unknown>): KeyLimits {
  const limits: KeyLimits = {};
  for (const name of LIMIT_NAMES) {
    const value = wire[name];
    if (typeof value === 'number' && Number.isFinite(value)) limits[LIMIT_FIELDS[name]] = value;
  }
  return limits;
}
