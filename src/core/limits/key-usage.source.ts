/** What a key used since a time: tokens and the backend's time, from the stored exchanges. */
export interface SpentSince {
  tokens: number;
  modelMs: number;
}

/**
 * Where a key's budgets start from when a process first meets the key: its exchanges stored
 * since the start of this UTC day and month, so a restart does not hand out a fresh budget.
 * Answers from the cache cost nothing and are not counted.
 */
export abstract class KeyUsageSource {
  abstract spent(keyId: string, dayStart: Date, monthStart: Date): Promise<{ day: SpentSince; month: SpentSince }>;
}
