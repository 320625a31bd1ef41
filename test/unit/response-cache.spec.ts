import { ResponseCache, stableJson } from '../../src/core/llm/response-cache';

const usage = { promptTokens: 1, completionTokens: 2 };

describe(ResponseCache.name, () => {
  it('returns what was stored and counts hits and misses', () => {
    const cache = new ResponseCache(10, 60_000);
    expect(cache.get('k')).toBeUndefined();
    cache.set('k', { text: 'hello', usage });
    expect(cache.get('k')).toEqual({ text: 'hello', usage });
    expect(cache.stats()).toMatchObject({ size: 1, hits: 1, misses: 1, maxEntries: 10, ttlMs: 60_000 });
  });

  it('evicts the least recently used entry beyond its bound', () => {
    const cache = new ResponseCache(2, 60_000);
    cache.set('a', { text: 'a', usage });
    cache.set('b', { text: 'b', usage });
    cache.get('a');
    cache.set('c', { text: 'c', usage });
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')?.text).toBe('a');
    expect(cache.stats().size).toBe(2);
  });

  it('expires entries after the TTL', async () => {
    const cache = new ResponseCache(10, 30);
    cache.set('k', { text: 'v', usage });
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(cache.get('k')).toBeUndefined();
  });

  it('is disabled by a TTL or a size of 0', () => {
    for (const cache of [new ResponseCache(0, 1000), new ResponseCache(10, 0)]) {
      cache.set('k', { text: 'v', usage });
      expect(cache.enabled).toBe(false);
      expect(cache.get('k')).toBeUndefined();
    }
  });

  it('clear() empties it', () => {
    const cache = new ResponseCache(10, 60_000);
    cache.set('k', { text: 'v', usage });
    cache.clear();
    expect(cache.stats().size).toBe(0);
  });

  describe('keyFor', () => {
    const messages = [{ role: 'user' as const, content: 'hi' }];

    it('ignores the order of option keys', () => {
      expect(ResponseCache.keyFor('m', messages, { a: 1, b: 2 })).toBe(ResponseCache.keyFor('m', messages, { b: 2, a: 1 }));
    });

    it('differs by model, by any message and by any option', () => {
      const base = ResponseCache.keyFor('m', messages, { a: 1 });
      expect(ResponseCache.keyFor('n', messages, { a: 1 })).not.toBe(base);
      expect(ResponseCache.keyFor('m', [{ role: 'user', content: 'hi!' }], { a: 1 })).not.toBe(base);
      expect(ResponseCache.keyFor('m', [{ role: 'system', content: 's' }, ...messages], { a: 1 })).not.toBe(base);
      expect(ResponseCache.keyFor('m', messages, { a: 2 })).not.toBe(base);
    });
  });

  it('stableJson sorts nested keys but keeps array order', () => {
    expect(stableJson({ b: { d: 1, c: 2 }, a: [2, 1] })).toBe('{"a":[2,1],"b":{"c":2,"d":1}}');
  });
});
