import { FixtureServer } from '../support/fixture-server';
import { fixture } from '../support/fixtures';
import { TestApp, useAppWithFakeOllama } from '../support/test-app';

const JSON_TYPE = { 'content-type': 'application/json' };

describe('Research', () => {
  const env = useAppWithFakeOllama(['mistral', 'nomic-embed-text']);
  const fake = env.fake;
  const pages = new FixtureServer({
    '/circuit-breaker': { body: fixture('pages/circuit-breaker.html') },
    '/retry': { body: fixture('pages/retry.html') },
    '/bulkhead.txt': { headers: { 'content-type': 'text/plain; charset=utf-8' }, body: fixture('pages/bulkhead.txt') },
    '/report.pdf': { headers: { 'content-type': 'application/pdf' }, body: '%PDF-1.7' },
  });
  for (let i = 1; i <= 7; i += 1) pages.route(`/slow${i}`, { delayMs: 150, body: `<p>Slow page ${i} about breakers.</p>` });
  /** What the fake SearXNG answers: [title, url, snippet]. */
  let results: [string, string, string][] = [];
  const searx = new FixtureServer({
    '/search': () => ({
      headers: JSON_TYPE,
      body: JSON.stringify({ query: 'q', results: results.map(([title, url, content]) => ({ title, url, content, engine: 'fixture' })) }),
    }),
  });
  let t: TestApp;

  beforeAll(async () => {
    await Promise.all([pages.start(), searx.start()]);
  });
  afterAll(async () => {
    await Promise.all([pages.stop(), searx.stop()]);
  });
  beforeEach(() => {
    pages.requests.length = 0;
    searx.requests.length = 0;
    pages.maxInFlight = 0;
    results = [
      ['Circuit Breaker - Martin Fowler', pages.url('/circuit-breaker'), 'You wrap a protected function call in a circuit breaker object.'],
      ['Retry pattern', pages.url('/retry'), 'Handle transient failures by retrying.'],
      ['Bulkhead', pages.url('/bulkhead.txt'), 'Isolate elements into pools.'],
      ['Gone', pages.url('/gone'), 'This page has moved away.'],
      ['A PDF report', pages.url('/report.pdf'), 'Quarterly report on breakers.'],
      ['Intranet', `http://localhost:${pages.port}/circuit-breaker`, 'Same page through a name that is not allowed.'],
    ];
  });

  // The SSRF guard stays on: only the page server's origin is allowed (and SearXNG, as configured).
  const start = (vars: Record<string, string> = {}) =>
    env.start({
      RATE_LIMIT_PER_MINUTE: '0',
      SEARCH_PROVIDER: 'searxng',
      SEARXNG_URL: searx.origin,
      FETCH_ALLOW_HOSTS: `127.0.0.1:${pages.port}`,
      ...vars,
    });
  const userPrompt = (index = 0) => fake.chatRequests()[index].body.messages.find((m: { role: string }) => m.role === 'user').content as string;

  describe('POST /research/summarize', () => {
    it('reads the pages, asks the model with numbered sources, and lists failed pages with their error', async () => {
      t = await start();
      fake.enqueue({ kind: 'reply', text: 'A breaker trips after repeated failures [1]; combine it with retries [2].' });
      const res = await t.request('/research/summarize', { body: { query: 'circuit breaker', max_results: 6 } });
      expect(res.status).toBe(200);
      const body = await res.json();
      expect(body.summary).toBe('A breaker trips after repeated failures [1]; combine it with retries [2].');
      expect(body.items).toEqual([
        {
          n: 1,
          title: 'Circuit Breaker - Martin Fowler',
          href: pages.url('/circuit-breaker'),
          snippet: 'You wrap a protected function call in a circuit breaker object.',
          source: 'searxng',
          chars: expect.any(Number),
          error: null,
        },
        expect.objectContaining({ n: 2, title: 'Retry pattern', error: null }),
        expect.objectContaining({ n: 3, title: 'Bulkhead', error: null }),
        expect.objectContaining({ n: 4, title: 'Gone', chars: 0, error: 'HTTP 404' }),
        expect.objectContaining({
          n: 5,
          chars: 0,
          error: `${pages.url('/report.pdf')} answered with content type "application/pdf"; expected text/html or application/xhtml+xml or text/plain`,
        }),
        expect.objectContaining({ n: 6, chars: 0, error: expect.stringContaining('localhost resolves to 127.0.0.1, which is a loopback address') }),
      ]);
      expect(body.items[0].chars).toBeGreaterThan(300);

      const prompt = userPrompt();
      expect(prompt).toContain('Question: circuit breaker');
      expect(prompt).toContain(`[1] Circuit Breaker - Martin Fowler (${pages.url('/circuit-breaker')})`);
      expect(prompt).toContain('Circuit Breaker\n6 March 2014\n');
      expect(prompt).toContain('Once the failures reach a certain threshold, the circuit breaker trips');
      expect(prompt).toContain('Half-open state');
      expect(prompt).toContain('Closed: calls pass through.\nOpen: calls fail at once.');
      expect(prompt).toContain('Strategy\nExponential backoff');
      expect(prompt).toContain('Isolate elements of an application into pools so that if one fails, the others continue to function.');
      expect(prompt).toContain('[4] Gone (');
      expect(prompt).toContain('(The page could not be read; its search snippet:) This page has moved away.');
      for (const noise of ['TRACKING-SCRIPT-TEXT', 'NAVIGATION-MENU-TEXT', 'FOOTER-COPYRIGHT-TEXT', 'SIDEBAR-ADVERT-TEXT', 'COOKIE-BANNER-TEXT', 'font-family']) {
        expect(prompt).not.toContain(noise);
      }
      const system = fake.chatRequests()[0].body.messages[0];
      expect(system.role).toBe('system');
      expect(system.content).toContain('square brackets, like [1]');
      // The refused page never reached the server under the other name.
      expect(pages.requests.filter((r) => r.path === '/circuit-breaker')).toHaveLength(1);
    });

    it('fetches the pages concurrently, at most 5 at a time', async () => {
      t = await start();
      results = Array.from({ length: 7 }, (_, i) => [`Slow ${i + 1}`, pages.url(`/slow${i + 1}`), '']);
      const res = await t.request('/research/summarize', { body: { query: 'breakers', max_results: 7 } });
      expect(res.status).toBe(200);
      expect((await res.json()).items.map((item: { error: string | null }) => item.error)).toEqual(Array(7).fill(null));
      expect(pages.maxInFlight).toBe(5);
    });

    it('caps the text of each page at 3000 characters', async () => {
      t = await start();
      pages.route('/long', { body: `<p>${'breaker '.repeat(2000)}</p>` });
      results = [['Long', pages.url('/long'), '']];
      const res = await t.request('/research/summarize', { body: { query: 'breaker' } });
      const [item] = (await res.json()).items;
      expect(item.chars).toBeLessThanOrEqual(3000);
      expect(item.chars).toBeGreaterThan(2900);
    });

    it('answers without the model when the search finds nothing', async () => {
      t = await start();
      results = [];
      const res = await t.request('/research/summarize', { body: { query: 'nothing at all' } });
      expect(await res.json()).toEqual({ summary: 'No search results for "nothing at all".', items: [] });
      expect(fake.chatRequests()).toHaveLength(0);
    });

    it('answers 502 when the model backend fails', async () => {
      t = await start({ LLM_MAX_RETRIES: '0' });
      fake.setDefaultFault({ kind: 'status', status: 500 });
      const res = await t.request('/research/summarize', { body: { query: 'circuit breaker', max_results: 1 } });
      expect(res.status).toBe(502);
    });
  });

  describe('POST /research/rag', () => {
    it('ranks overlapping chunks with BM25 and answers from the best ones with numbered sources', async () => {
      t = await start();
      fake.enqueue({ kind: 'reply', text: 'It lets a trial call through [1].' });
      const res = await t.request('/research/rag', { body: { query: 'half-open trial call', max_results: 6 } });
      expect(res.status).toBe(200);
      const body = await res.json();
      expect(body.summary).toBe('It lets a trial call through [1].');
      expect(body.ranking).toBe('bm25');
      expect(body.sources.length).toBeGreaterThan(0);
      expect(body.sources.length).toBeLessThanOrEqual(6);
      expect(body.sources.map((s: { n: number }) => s.n)).toEqual(body.sources.map((_: unknown, i: number) => i + 1));
      expect(body.sources[0]).toEqual({
        n: 1,
        url: pages.url('/circuit-breaker'),
        title: 'Circuit Breaker - Martin Fowler',
        snippet: expect.stringContaining('trial call'),
      });
      expect(body.failed).toEqual([
        { url: pages.url('/gone'), error: 'HTTP 404' },
        { url: pages.url('/report.pdf'), error: expect.stringContaining('content type "application/pdf"') },
        { url: `http://localhost:${pages.port}/circuit-breaker`, error: expect.stringContaining('loopback address') },
      ]);
      const prompt = userPrompt();
      expect(prompt).toContain('Question: half-open trial call');
      expect(prompt).toContain(`[1] Circuit Breaker - Martin Fowler (${pages.url('/circuit-breaker')})`);
      expect(prompt).not.toContain('TRACKING-SCRIPT-TEXT');
      expect(fake.requests.filter((r) => r.path === '/api/embed')).toHaveLength(0);
    });

    it('splits long pages into overlapping chunks and cites the matching one', async () => {
      t = await start();
      const filler = (word: string) => Array.from({ length: 150 }, (_, i) => `${word}${i}`).join(' ');
      pages.route('/long', { body: `<p>${filler('alpha')}</p><p>The zebra crossing rule appears only here.</p><p>${filler('omega')}</p>` });
      results = [['Long page', pages.url('/long'), '']];
      const res = await t.request('/research/rag', { body: { query: 'zebra crossing' } });
      const body = await res.json();
      expect(body.sources.length).toBeGreaterThan(2);
      expect(body.sources[0].snippet).toContain('zebra crossing');
      expect(body.sources.every((s: { url: string }) => s.url === pages.url('/long'))).toBe(true);
    });

    it('blends in embedding similarity when EMBED_MODEL is set', async () => {
      t = await start({ EMBED_MODEL: 'nomic-embed-text' });
      const res = await t.request('/research/rag', { body: { query: 'circuit breaker', max_results: 3 } });
      const body = await res.json();
      expect(body.ranking).toBe('bm25+embeddings');
      const embeds = fake.requests.filter((r) => r.path === '/api/embed');
      expect(embeds).toHaveLength(1);
      expect(embeds[0].body.model).toBe('nomic-embed-text');
      expect(embeds[0].body.input[0]).toBe('circuit breaker');
      expect(embeds[0].body.input.length).toBeGreaterThan(3);
    });

    it('falls back to BM25 when the embedding model is missing', async () => {
      t = await start({ EMBED_MODEL: 'no-such-embedder' });
      const res = await t.request('/research/rag', { body: { query: 'circuit breaker', max_results: 2 } });
      expect(res.status).toBe(200);
      expect((await res.json()).ranking).toBe('bm25');
    });

    it('uses the search snippets when no page can be read', async () => {
      t = await start();
      results = [['Gone', pages.url('/gone'), 'Breakers stop cascading failures.']];
      const res = await t.request('/research/rag', { body: { query: 'cascading failures' } });
      const body = await res.json();
      expect(body.sources).toEqual([{ n: 1, url: pages.url('/gone'), title: 'Gone', snippet: 'Breakers stop cascading failures.' }]);
    });
  });

  describe('input validation', () => {
    beforeEach(async () => {
      t = await start();
    });

    it.each([
      ['a missing query', {}, 'query is required'],
      ['an empty query', { query: '' }, 'query must not be empty'],
      ['max_results 0', { query: 'x', max_results: 0 }, 'max_results must not be less than 1'],
      ['max_results 11', { query: 'x', max_results: 11 }, 'max_results must not be greater than 10'],
      ['a fractional max_results', { query: 'x', max_results: 1.5 }, 'max_results must be an integer number'],
      ['an unknown field', { query: 'x', urls: ['http://a.test/'] }, 'property urls should not exist'],
    ])('answers 400 for %s on both routes', async (_case, body, message) => {
      for (const route of ['/research/summarize', '/research/rag']) {
        const res = await t.request(route, { body });
        expect(res.status).toBe(400);
        expect((await res.json()).message).toContain(message);
      }
      expect(searx.requests).toHaveLength(0);
    });
  });
});
