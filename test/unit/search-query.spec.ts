import { InvalidInputError } from '../../src/common/errors/app-errors';
import { parseSearchQuery } from '../../src/core/persistence/search-query';
import { ftsMatch } from '../../src/core/persistence/sqlite/fts-match';
import { decodeCursor, encodeCursor } from '../../src/modules/history/history-cursor';

describe(parseSearchQuery.name, () => {
  it('reads words, phrases and prefixes, whatever the engine', () => {
    expect(parseSearchQuery('"half open" break* NOT')).toEqual({
      terms: [
        { text: 'half open', prefix: false },
        { text: 'break', prefix: true },
        { text: 'NOT', prefix: false },
      ],
    });
  });

  it.each([
    ['"open', 'q has an unbalanced double quote'],
    ['***', 'q must contain at least one word or number to search for'],
    ['   ', 'q must contain at least one word or number to search for'],
  ])('refuses %j', (input, message) => {
    expect(() => parseSearchQuery(input)).toThrow(new InvalidInputError(message));
  });
});

describe(ftsMatch.name, () => {
  it.each([
    ['breaker', '"breaker"'],
    ['circuit  breaker', '"circuit" "breaker"'],
    ['"half open" state', '"half open" "state"'],
    ['break*', '"break"*'],
    ['AND OR NOT', '"AND" "OR" "NOT"'],
    ['col:value (x)', '"col:value" "(x)"'],
    ['dogs"cats"', '"dogs" "cats"'],
    ['naïve café', '"naïve" "café"'],
    ['*** "" dogs', '"dogs"'],
  ])('turns %j into %j', (input, expected) => {
    expect(ftsMatch(parseSearchQuery(input))).toBe(expected);
  });

  it('doubles a quote inside a term, so a term can never end the FTS5 string early', () => {
    expect(ftsMatch({ terms: [{ text: 'say "hi"', prefix: false }] })).toBe('"say ""hi"""');
  });
});

describe('history cursors', () => {
  it('round-trip', () => {
    const rank = { kind: 'rank', offset: 50, maxId: 1000, search: 'abc' } as const;
    expect(decodeCursor(encodeCursor(rank))).toEqual(rank);
    expect(decodeCursor(encodeCursor({ kind: 'id', id: 7 }))).toEqual({ kind: 'id', id: 7 });
    expect(decodeCursor('42')).toEqual({ kind: 'id', id: 42 });
  });

  it.each(['', '0', '-1', 'a b', Buffer.from('[]').toString('base64url'), Buffer.from('{"k":"id","id":1.5}').toString('base64url')])(
    'refuses %j',
    (token) => {
      expect(() => decodeCursor(token)).toThrow(InvalidInputError);
    },
  );
});
