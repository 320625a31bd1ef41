import { FixtureServer } from '../support/fixture-server';
import { fixture } from '../support/fixtures';
import { TestApp, useAppWithFakeOllama } from '../support/test-app';

const JSON_TYPE = { 'content-type': 'application/json; charset=utf-8' };

describe('Search', () => {
  const env = useAppWithFakeOllama();
  const ddg = new FixtureServer({
    '/html/': (url) => ({ body: fixture(url.searchParams.get('q') === 'nothing' ? 'duckduckgo/html-no-results.html' : 'duckduckgo/html-results.html') }),
    '/': (url) => (url.searchParams.get('q') === 'no token' ? { body: '<html>no token here</html>' } : { body: fixture('duckduckgo/images-landing.html') }),
    '/i.js': (url) =>
      url.searchParams.get('vqd') === '4-333012998207414823107214549376946126853'
        ? { headers: JSON_TYPE, body: fixture('duckduckgo/images-results.json') }
        : { status: 403, headers: JSON_TYPE, body: '{"error":"bad vqd"}' },
  });
  const searx = new FixtureServer({
    '/search': (url) =>
      url.searchParams.get('format') !== 'json'
        ? { status: 403, body: 'Forbidden' }
        : { headers: JSON_TYPE, body: fixture(url.searchParams.get('categories') === 'images' ? 'searxng/search-images.json' : 'searxng/search-general.json') },
  });
  const broken = new FixtureServer({ '/html/': { status: 500, body: 'oops' }, '/search': { status: 403, body: 'Forbidden' } });
  let t: TestApp;

  beforeAll(async () => {
    await Promise.all([ddg.start(), searx.start(), broken.start()]);
  });
  afterAll(async () => {
    await Promise.all([ddg.stop(), searx.stop(), broken.stop()]);
  });
  beforeEach(() => {
    ddg.requests.length = 0;
    searx.requests.length = 0;
  });

  // The SSRF guard stays on: the configured provider origins are trusted, nothing else is.
  const duckduckgo = (base = ddg) =>
    env.start({ RATE_LIMIT_PER_MINUTE: '0', DUCKDUCKGO_HTML_URL: base.url('/html/'), DUCKDUCKGO_URL: base.origin });
  const searxng = (base = searx) => env.start({ RATE_LIMIT_PER_MINUTE: '0', SEARCH_PROVIDER: 'searxng', SEARXNG_URL: base.origin });

  describe('POST /search/web with DuckDuckGo', () => {
    beforeEach(async () => {
      t = await duckduckgo();
    });

    it('parses the organic results, unwraps redirect links, skips ads and repeated URLs', async () => {
      const res = await t.request('/search/web', { body: { query: 'circuit breaker pattern', max_results: 20 } });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({
        items: [
          {
            title: 'Circuit Breaker - Martin Fowler',
            href: 'https://martinfowler.com/bliki/CircuitBreaker.html',
            snippet:
              'The basic idea behind the circuit breaker is very simple. You wrap a protected function call in a circuit breaker object, which monitors for failures.',
            source: 'duckduckgo',
          },
          {
            title: 'Circuit Breaker pattern - Azure Architecture Center | Microsoft Learn',
            href: 'https://learn.microsoft.com/en-us/azure/architecture/patterns/circuit-breaker',
            snippet: expect.stringContaining('Handle faults that might take a variable amount of time'),
            source: 'duckduckgo',
          },
          {
            title: 'CircuitBreaker - resilience4j',
            href: 'https://resilience4j.readme.io/docs/circuitbreaker',
            snippet: expect.stringContaining('CLOSED, OPEN and HALF_OPEN & two special states'),
            source: 'duckduckgo',
          },
          {
            title: 'Circuit breaker design pattern - Wikipedia',
            href: 'https://en.wikipedia.org/wiki/Circuit_breaker_design_pattern',
            snippet: expect.stringContaining('design pattern used in software development'),
            source: 'duckduckgo',
          },
        ],
      });
      const [sent] = ddg.requests;
      expect(sent.path).toBe('/html/');
      expect(sent.query.get('q')).toBe('circuit breaker pattern');
      expect(sent.query.get('kp')).toBe('-1');
      expect(sent.headers['user-agent']).toMatch(/^Vega\//);
    });

    it('returns max_results (default 5) and passes safesearch', async () => {
      const res = await t.request('/search/web', { body: { query: 'circuit breaker', max_results: 2, safesearch: 'strict' } });
      expect((await res.json()).items).toHaveLength(2);
      expect(ddg.requests[0].query.get('kp')).toBe('1');
      const off = await t.request('/search/web', { body: { query: 'x', safesearch: 'off' } });
      expect((await off.json()).items).toHaveLength(4);
      expect(ddg.requests[1].query.get('kp')).toBe('-2');
    });

    it('answers an empty list when there are no results', async () => {
      const res = await t.request('/search/web', { body: { query: 'nothing' } });
      expect(await res.json()).toEqual({ items: [] });
    });
  });

  describe('POST /search/images with DuckDuckGo', () => {
    beforeEach(async () => {
      t = await duckduckgo();
    });

    it('gets the vqd token from the images page, then the JSON results, each image once', async () => {
      const res = await t.request('/search/images', { body: { query: 'circuit breaker', max_results: 10, safesearch: 'off' } });
      expect(res.status).toBe(200);
      const { items } = await res.json();
      expect(items).toHaveLength(3);
      expect(items[0]).toEqual({
        title: 'Miniature circuit breaker - Wikimedia Commons',
        image: 'https://upload.wikimedia.org/wikipedia/commons/6/6a/Miniature_circuit_breaker.jpg',
        thumbnail: 'https://tse1.mm.bing.net/th?id=OIP.aB1cD2eF3gH4iJ5kL6mN7oHaE8&pid=Api',
        url: 'https://commons.wikimedia.org/wiki/File:Miniature_circuit_breaker.jpg',
        width: 1600,
        height: 1200,
      });
      expect(items.map((item: { title: string }) => item.title)).toEqual([
        'Miniature circuit breaker - Wikimedia Commons',
        'Circuit Breaker state diagram',
        'CircuitBreaker - resilience4j',
      ]);
      expect(ddg.requests.map((r) => r.path)).toEqual(['/', '/i.js']);
      expect(ddg.requests[0].query.get('iax')).toBe('images');
      const api = ddg.requests[1];
      expect(Object.fromEntries(api.query)).toMatchObject({ q: 'circuit breaker', o: 'json', p: '-1', vqd: '4-333012998207414823107214549376946126853' });
      expect(api.headers.referer).toBe(`${ddg.origin}/`);
    });

    it('answers 502 when the images page has no token', async () => {
      const res = await t.request('/search/images', { body: { query: 'no token' } });
      expect(res.status).toBe(502);
      expect((await res.json()).message).toBe('DuckDuckGo did not hand out an image search token (HTTP 200)');
    });
  });

  describe('with SearXNG', () => {
    it('POST /search/web reads the JSON API, each URL once', async () => {
      t = await searxng();
      const res = await t.request('/search/web', { body: { query: 'circuit breaker pattern', max_results: 20, safesearch: 'strict' } });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({
        items: [
          {
            title: 'Circuit Breaker - Martin Fowler',
            href: 'https://martinfowler.com/bliki/CircuitBreaker.html',
            snippet: 'You wrap a protected function call in a circuit breaker object, which monitors for failures.',
            source: 'searxng',
          },
          expect.objectContaining({ href: 'https://learn.microsoft.com/en-us/azure/architecture/patterns/circuit-breaker', source: 'searxng' }),
          expect.objectContaining({ href: 'https://en.wikipedia.org/wiki/Circuit_breaker_design_pattern', source: 'searxng' }),
        ],
      });
      expect(Object.fromEntries(searx.requests[0].query)).toEqual({
        q: 'circuit breaker pattern',
        format: 'json',
        categories: 'general',
        safesearch: '2',
      });
    });

    it('POST /search/images maps img_src, thumbnail_src and resolution', async () => {
      t = await searxng();
      const res = await t.request('/search/images', { body: { query: 'circuit breaker' } });
      expect(await res.json()).toEqual({
        items: [
          {
            title: 'Miniature circuit breaker',
            image: 'https://upload.wikimedia.org/wikipedia/commons/6/6a/Miniature_circuit_breaker.jpg',
            thumbnail: 'https://upload.wikimedia.org/wikipedia/commons/thumb/6/6a/Miniature_circuit_breaker.jpg/320px-Miniature_circuit_breaker.jpg',
            url: 'https://commons.wikimedia.org/wiki/File:Miniature_circuit_breaker.jpg',
            width: 1600,
            height: 1200,
          },
          expect.objectContaining({ title: 'Circuit Breaker state diagram', width: 1200, height: 630 }),
          expect.objectContaining({ title: 'Breaker panel', thumbnail: '', width: null, height: null }),
        ],
      });
      expect(searx.requests[0].query.get('categories')).toBe('images');
      expect(searx.requests[0].query.get('safesearch')).toBe('1');
    });

    it('answers 502 with a hint when the instance refuses JSON', async () => {
      t = await searxng(broken);
      const res = await t.request('/search/web', { body: { query: 'x' } });
      expect(res.status).toBe(502);
      expect((await res.json()).message).toBe('SearXNG refused the JSON format: enable "json" in search.formats of its settings.yml');
    });
  });

  it('answers 502 when DuckDuckGo fails', async () => {
    t = await duckduckgo(broken);
    const res = await t.request('/search/web', { body: { query: 'x' } });
    expect(res.status).toBe(502);
    expect((await res.json()).message).toBe('DuckDuckGo answered HTTP 500');
  });

  describe('input validation', () => {
    beforeEach(async () => {
      t = await duckduckgo();
    });

    it.each([
      ['a missing query', {}, 'query is required'],
      ['an empty query', { query: '' }, 'query must not be empty'],
      ['an over-long query', { query: 'q'.repeat(501) }, 'query must be shorter than or equal to 500 characters'],
      ['max_results 0', { query: 'x', max_results: 0 }, 'max_results must not be less than 1'],
      ['max_results 21', { query: 'x', max_results: 21 }, 'max_results must not be greater than 20'],
      ['a fractional max_results', { query: 'x', max_results: 2.5 }, 'max_results must be an integer number'],
      ['max_results as a string', { query: 'x', max_results: '5' }, 'max_results must be an integer number'],
      ['an unknown safesearch', { query: 'x', safesearch: 'none' }, 'safesearch must be one of off, moderate, strict'],
      ['an unknown field', { query: 'x', region: 'us' }, 'property region should not exist'],
    ])('answers 400 for %s on both routes', async (_case, body, message) => {
      for (const route of ['/search/web', '/search/images']) {
        const res = await t.request(route, { body });
        expect(res.status).toBe(400);
        expect((await res.json()).message).toContain(message);
      }
      expect(ddg.requests).toHaveLength(0);
    });
  });
});
