import { InvalidInputError } from '../../common/errors/app-errors';

/** At most this many words and phrases in one search, which bounds the work of a query. */
export const MAX_SEARCH_TERMS = 32;

const HAS_TOKEN = /[\p{L}\p{N}]/u;

/**
 * One thing a search looks for: the words of `text` next to each other, in this order (a single
 * word is a phrase of one); with `prefix`, the last word may be the start of a longer one.
 */
export interface SearchTerm {
  text: string;
  prefix: boolean;
}

/**
 * What a user asked to find, whatever the engine: every term is required (AND). Each adapter
 * turns it into its own full-text syntax, so nothing the user typed is ever read as an operator.
 */
export interface SearchQuery {
  terms: readonly SearchTerm[];
}

/**
 * Reads what a user typed: bare words and "quoted phrases", a trailing `*` on a word asking for a
 * prefix match. Operators (`AND`, `OR`, `NOT`, `NEAR`), column filters and parentheses are plain
 * words here. An unbalanced quote or a query without any word is refused as invalid input
 * (`field` names the parameter).
 */
export function parseSearchQuery(input: string, field = 'q'): SearchQuery {
  const terms: SearchTerm[] = [];
  let index = 0;
  while (index < input.length) {
    const char = input[index];
    if (/\s/u.test(char)) {
      index += 1;
    } else if (char === '"') {
      const close = input.indexOf('"', index + 1);
      if (close === -1) throw new InvalidInputError(`${field} has an unbalanced double quote`);
      const phrase = input.slice(index + 1, close);
      if (HAS_TOKEN.test(phrase)) terms.push({ text: phrase, prefix: false });
      index = close + 1;
    } else {
      let end = index;
      while (end < input.length && input[end] !== '"' && !/\s/u.test(input[end])) end += 1;
      const word = input.slice(index, end);
      const bare = word.replace(/\*+$/, '');
      if (HAS_TOKEN.test(bare)) terms.push({ text: bare, prefix: word.endsWith('*') });
      index = end;
    }
  }
  if (terms.length === 0) throw new InvalidInputError(`${field} must contain at least one word or number to search for`);
  if (terms.length > MAX_SEARCH_TERMS) throw new InvalidInputError(`${field} has too many terms (at most ${MAX_SEARCH_TERMS})`);
  return { terms };
}
