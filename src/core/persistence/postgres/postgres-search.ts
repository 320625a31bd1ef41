import type { SearchQuery } from '../search-query';
import type { SqlParams } from './sql-params';

/**
 * The text search configuration `search_vector` is built with (the initial migration): `simple`
 * (no stemming, no stop words, like SQLite's unicode61) with accents removed by `unaccent`.
 */
export const SEARCH_CONFIG = 'vega_search';

/**
 * A text as the search reads it: punctuation (and U+FFFD, which stands for a U+0000 here,
 * `pgText`) turned into spaces first, so words are runs of letters and digits as SQLite's
 * unicode61 makes them (U+0000 ends FTS5's string there: a separator too). PostgreSQL's parser alone keeps an e-mail
 * address, a host name, a file name or a version whole (`jane.doe@example.com` one lexeme): a
 * search for `jane` or `example` would not find it. The stored `search_vector` is built with the
 * same expression (the initial migration writes it out rather than import it: migrations stand alone).
 */
export const searchTextSql = (text: string): string => `regexp_replace(${text}, '[[:punct:]\\uFFFD]', ' ', 'g')`;

/**
 * The `tsquery` of a search, as SQL. Each term's text is bound as a value and parsed by
 * PostgreSQL with the same parser and dictionaries as the stored texts (`phraseto_tsquery`), so a
 * phrase becomes a `<->` sequence of exactly the lexemes its text yields and nothing the user
 * typed is read as an operator (`websearch_to_tsquery` would read `-` and `or`). A prefix term
 * marks its last lexeme `:*`. Terms are joined with `&&` (all required).
 */
export function tsquerySql(query: SearchQuery, params: SqlParams): string {
  const terms = query.terms.map((term) => {
    // A U+0000 is bound as U+FFFD, as it was stored (`SqlParams`).
    const phrase = `phraseto_tsquery('${SEARCH_CONFIG}', ${searchTextSql(params.bind(term.text))})`;
    // The text form ends with the last lexeme ('word'); `:*` after it asks for a prefix. A text
    // without any lexeme (only punctuation) gives the empty query, which must stay empty.
    return term.prefix ? `(SELECT CASE WHEN numnode(p) = 0 THEN p ELSE (p::text || ':*')::tsquery END FROM ${phrase} p)` : phrase;
  });
  return `(${terms.join(' && ')})`;
}

/** ts_headline's options that mark a match as `SNIPPET_OPEN`…`SNIPPET_CLOSE`. */
const MARKS = `'StartSel=' || chr(1) || ', StopSel=' || chr(2)`;

/** Up to this many characters, a snippet is the whole text (matches marked); a longer text gives one fragment. */
const WHOLE_TEXT_CHARS = 160;

/**
 * A snippet of `column` for the query `q`, matches between \x01 and \x02: the whole text when
 * short, else the best fragment of up to 16 words (as SQLite's snippet; `ShortWord=0`: a fragment
 * may end on a short word, which ts_headline would otherwise trim away). In a fragment,
 * `ts_headline` drops what its parser reads as HTML tags; `<` is swapped for \x03 around it so
 * the stored text comes back as it is.
 */
export function headlineSql(column: string, q: string): string {
  return `CASE WHEN length(${column}) <= ${WHOLE_TEXT_CHARS}
    THEN ts_headline('${SEARCH_CONFIG}', ${column}, ${q}, ${MARKS} || ', HighlightAll=true')
    ELSE replace(ts_headline('${SEARCH_CONFIG}', replace(${column}, '<', chr(3)), ${q},
      ${MARKS} || ', MaxFragments=1, MaxWords=16, MinWords=8, ShortWord=0'), chr(3), '<') END`;
}
