import type { SearchQuery } from '../search-query';

/**
 * The FTS5 MATCH expression of a search: each term as a quoted FTS5 string (its own quotes
 * doubled), so no operator, column filter or parenthesis in it can change the query or make a
 * syntax error (U+0000, which would end FTS5's string early, becomes the separator it is to the
 * tokenizer); `*` after a prefix term; terms side by side, which FTS5 reads as AND.
 */
export function ftsMatch(query: SearchQuery): string {
  return query.terms.map((term) => `"${term.text.replaceAll('"', '""').replaceAll('\0', ' ')}"${term.prefix ? '*' : ''}`).join(' ');
}
