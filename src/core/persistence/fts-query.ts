import { InvalidInputError } from '../../common/errors/app-errors';

/** At most this many words and phrases in one search, which bounds the work of a query. */
export const MAX_SEARCH_TERMS = 32;

const HAS_TOKEN = /[\p{L}\p{N}]/u;

/**
 * Turns what a user typed into a safe FTS5 MATCH expression: bare words and "quoted phrases",
 * all required (AND). Every term is emitted as a quoted FTS5 string, so operators (`AND`, `OR`,
 * `NOT`, `NEAR`), column filters and parentheses are searched as plain words and can never
 * make a syntax error; a trailing `*` on a word asks for a prefix match. An unbalanced quote or
 * a query without any word is refused as invalid input (`field` names the parameter).
 */
export function toFtsQuery(input: string, field = 'q'): string {
  const terms: string[] = [];
  let index = 0;
  while (index < input.length) {
    const char = input[index];
    if (/\s/u.test(char)) {
      index += 1;
    } else if (char === '"') {
      const close = input.indexOf('"', index + 1);
      if (close === -1) throw new InvalidInputError(`${field} has an unbalanced double quote`);
      const phrase = input.slice(index + 1, close);
      if (HAS_TOKEN.test(phrase)) terms.push(`"${phrase}"`);
      index = close + 1;
    } else {
      let end = index;
      while (end < input.length && input[end] !== '"' && !/\s/u.test(input[end])) end += 1;
      const word = input.slice(index, end);
      const prefix = word.endsWith('*');
      const bare = word.replace(/\*+$/, '');
      if (HAS_TOKEN.test(bare)) terms.push(prefix ? `"${bare}"*` : `"${bare}"`);
      index = end;
    }
  }
  if (terms.length === 0) throw new InvalidInputError(`${field} must contain at least one word or number to search for`);
  if (terms.length > MAX_SEARCH_TERMS) throw new InvalidInputError(`${field} has too many terms (at most ${MAX_SEARCH_TERMS})`);
  return terms.join(' ');
}
