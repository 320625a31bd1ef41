import { InvalidInputError } from '../../src/common/errors/app-errors';
import { toFtsQuery } from '../../src/core/persistence/fts-query';
import { decodeCursor, encodeCursor } from '../../src/modules/history/history-cursor';

describe(toFtsQuery.name, () => {
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
    expect(toFtsQuery(input)).toBe(expected);
  });

  it.each([
    ['"open', 'q has an unbalanced double quote'],
    ['***', 'q must contain at least one word or number to search for'],
    ['   ', 'q must contain at least one word or number to search for'],
  ])('refuses %j', (input, message) => {
    expect(() => toFtsQuery(input)).toThrow(new InvalidInputError(message));
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
