/** What a usage report can be grouped by: the key, the model, the UTC day, the lane (the exchange's source). */
export const USAGE_DIMENSIONS = ['key', 'model', 'day', 'lane'] as const;
export type UsageDimension = (typeof USAGE_DIMENSIONS)[number];

/** The figures of one group, or of the whole range. */
export interface UsageFigures {
  requests: number;
  promptTokens: number;
  completionTokens: number;
  /** Milliseconds the backend spent generating (`model_ms`). */
  modelMs: number;
  /** Exchanges that ended in an error (`status = 'error'`). */
  errors: number;
  /** Nearest-rank percentiles of the exchanges' duration; null when none has one. */
  p50Ms: number | null;
  p95Ms: number | null;
}

export interface UsageGroup extends UsageFigures {
  /** Set for the dimensions grouped by. A key id and name, a model, or a lane may be null (rows without one). */
  keyId?: string | null;
  /** A managed key's name; a bootstrap key's id (`primary`, `extra-1`) is its own name. */
  keyName?: string | null;
  model?: string | null;
  /** `YYYY-MM-DD`, UTC. */
  day?: string;
  lane?: string;
}

export interface UsageReport {
  groups: UsageGroup[];
  totals: UsageFigures;
}

/** Aggregates the stored exchanges made in `[from, to)` by one or two dimensions. */
export abstract class UsageRepository {
  abstract report(range: { from: Date; to: Date }, groupBy: readonly UsageDimension[]): Promise<UsageReport>;
}
