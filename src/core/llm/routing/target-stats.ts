/** How many recent attempts the latency median is taken over. */
const WINDOW = 256;

/**
 * What one target's attempts came to, for the admin views: how many succeeded and failed, and
 * the median duration of its recent successful attempts (a ring of the last 256, so an old
 * slow hour does not hide that it is fast now). Recorded through the target's breaker permits:
 * the same verdict the breaker counts (a client leaving or a busy answer is neither).
 */
export class TargetStats {
  succeeded = 0;
  failed = 0;
  private readonly recent = new Float64Array(WINDOW);
  private filled = 0;
  private next = 0;

  success(durationMs: number): void {
    this.succeeded += 1;
    this.recent[this.next] = durationMs;
    this.next = (this.next + 1) % WINDOW;
    this.filled = Math.min(WINDOW, this.filled + 1);
  }

  failure(): void {
    this.failed += 1;
  }

  /** The median duration of the recent successful attempts, in milliseconds; null before the first. */
  p50Ms(): number | null {
    if (this.filled === 0) return null;
    const sorted = this.recent.slice(0, this.filled).sort();
    const middle = this.filled >> 1;
    return this.filled % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
  }
}
