/**
 * A text as PostgreSQL can hold it: its text type cannot hold U+0000 (SQLite's can), so it is
 * stored, and looked up, as U+FFFD (as a lone surrogate already is by the UTF-8 encoding).
 */
export const pgText = (value: string): string => (value.includes('\u0000') ? value.replaceAll('\u0000', '\uFFFD') : value);

/**
 * Bound values of one PostgreSQL statement: `bind` returns the next `$n` placeholder. Texts (and
 * lists of texts) are bound as `pgText` makes them, so no value can fail a statement for a U+0000.
 */
export class SqlParams {
  readonly values: unknown[] = [];

  bind(value: unknown): string {
    this.values.push(typeof value === 'string' ? pgText(value) : Array.isArray(value) ? value.map((item) => (typeof item === 'string' ? pgText(item) : item)) : value);
    return `$${this.values.length}`;
  }

  /** Placeholders for a list, comma-separated (for `IN (…)`). */
  list(values: readonly unknown[]): string {
    return values.map((value) => this.bind(value)).join(', ');
  }
}
