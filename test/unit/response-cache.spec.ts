import { ResponseCache, stableJson } from '../../src/core/llm/resilience/response-cache';

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
    const request = (model: string, msgs: object[], options: Record<string, unknown>, extra: object = {}) =>
      ResponseCache.keyFor('chat', { model, messages: msgs, options, ...extra });

    it('ignores the order of option keys', () => {
      expect(request('m', messages, { a: 1, b: 2 })).toBe(request('m', messages, { b: 2, a: 1 }));
    });

    it('differs by model, by any message and by any option', () => {
      const base = request('m', messages, { a: 1 });
      expect(request('n', messages, { a: 1 })).not.toBe(base);
      expect(request('m', [{ role: 'user', content: 'hi!' }], { a: 1 })).not.toBe(base);
      expect(request('m', [{ role: 'system', content: 's' }, ...messages], { a: 1 })).not.toBe(base);
      expect(request('m', messages, { a: 2 })).not.toBe(base);
    });

    it('differs by tools, tool choice, format, think and logprobs, and between a chat and a completion', () => {
      const base = request('m', messages, {});
      const tool = { name: 'get_weather', parameters: { type: 'object', properties: {} } };
      const variants = [
        request('m', messages, {}, { tools: [tool] }),
        request('m', messages, {}, { tools: [tool], toolChoice: 'required' }),
        request('m', messages, {}, { format: 'json' }),
        request('m', messages, {}, { format: { schema: { type: 'object' } } }),
        request('m', messages, {}, { think: true }),
        request('m', messages, {}, { think: 'high' }),
        request('m', messages, {}, { logprobs: true }),
        ResponseCache.keyFor('completion', { model: 'm', messages, options: {} }),
      ];
      expect(new Set([base, ...variants]).size).toBe(variants.length + 1);
    });

    it('keys an image by its digest: the same picture gives the same key whatever its encoding', () => {
      const image = (data: string, sha256: string) => [{ role: 'user', content: 'what is this?', images: [{ mime: 'image/png', data, bytes: 3, sha256 }] }];
      expect(request('m', image('AAAA', 'd1'), {})).toBe(request('m', image('AAAA\n', 'd1'), {}));
      expect(request('m', image('AAAA', 'd1'), {})).not.toBe(request('m', image('AAAA', 'd2'), {}));
    });
  });

  it('stableJson sorts nested keys but keeps array order', () => {
    expect(stableJson({ b: { d: 1, c: 2 }, a: [2, 1] })).toBe('{"a":[2,1],"b":{"c":2,"d":1}}');
  });
});
