/** Bound values of one PostgreSQL statement: `bind` returns the next `$n` placeholder. */
export class SqlParams {
  readonly values: unknown[] = [];

  bind(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }

  /** Placeholders for a list, comma-separated (for `IN (…)`). */
  list(values: readonly unknown[]): string {
    return values.map((value) => this.bind(value)).join(', ');
  }
}
