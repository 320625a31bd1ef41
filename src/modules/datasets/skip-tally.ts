/** How many examples of each skip reason are kept to show where to look. */
const EXAMPLES_PER_REASON = 3;

export interface SkipGroup {
  reason: string;
  count: number;
  /** The first few places (`file: line 14 — detail`). */
  examples: string[];
}

/** Counts skipped records or files by reason, keeping the first few places of each. */
export class SkipTally {
  private readonly groups = new Map<string, SkipGroup>();
  private count = 0;

  add(reason: string, example: string): void {
    this.count += 1;
    const group = this.groups.get(reason) ?? { reason, count: 0, examples: [] };
    group.count += 1;
    if (group.examples.length < EXAMPLES_PER_REASON) group.examples.push(example);
    this.groups.set(reason, group);
  }

  get total(): number {
    return this.count;
  }

  /** Most frequent reason first. */
  list(): SkipGroup[] {
    return [...this.groups.values()].sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason));
  }
}
