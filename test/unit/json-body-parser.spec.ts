import { nestsDeeperThan } from '../../src/app/json-body-parser';

describe(nestsDeeperThan.name, () => {
  const nested = (levels: number) => `${'{"a":['.repeat(levels)}1${']}'.repeat(levels)}`;

  it('counts objects and arrays alike, up to and past the limit', () => {
    expect(nestsDeeperThan(nested(5), 10)).toBe(false); // 10 levels, 43 characters
    expect(nestsDeeperThan(nested(5), 9)).toBe(true);
    expect(nestsDeeperThan(`[${'{"x":1},'.repeat(1000)}1]`, 2)).toBe(false);
    expect(nestsDeeperThan('[[[[]]]]', 3)).toBe(true); // the shortest text past the limit
    expect(nestsDeeperThan('[[[]]]', 3)).toBe(false);
  });

  it('skips brackets inside strings, escaped quotes and escaped backslashes included', () => {
    const text = (inner: string) => JSON.stringify({ s: inner, t: [[1]] });
    expect(nestsDeeperThan(text('[[[[[[[[[[{{{{{{{{'), 3)).toBe(false);
    expect(nestsDeeperThan(text('\\"[[[[[[[[[[[['), 3)).toBe(false);
    expect(nestsDeeperThan(text('a\\\\'), 3)).toBe(false);
    expect(nestsDeeperThan(`${text('a\\')}`.replace('[[1]]', '[[[[1]]]]'), 3)).toBe(true);
  });

  it('leaves malformed JSON to the parser', () => {
    expect(nestsDeeperThan('{"a":"[[[[[[[[[[', 3)).toBe(false);
  });
});
