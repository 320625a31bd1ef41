/**
 * The places on targets counted across every Vega instance in front of the same servers, so
 * that together they respect each target's max concurrency (Redis: `RedisTargetSlots`).
 */
export abstract class SharedSlots {
  /**
   * A place on the target `name` for one request, below `max` in flight across instances: the
   * function that gives it back (once), or null when the other instances hold every place. When
   * the shared count cannot be asked (Redis down), the place is granted: this instance's own
   * count decides alone.
   */
  abstract claim(name: string, max: number): Promise<(() => void) | null>;
}
