import { FixtureServer } from '../support/fixture-server';
import { TestApp, useAppWithFakeOllama } from '../support/test-app';

describe('OSINT over HTTP', () => {
  const env = useAppWithFakeOllama();
  const bigRobots = `User-agent: *\n${'Disallow: /x\n'.repeat(200)}`;
  const site = new FixtureServer({
    '/': {
      headers: {
        'strict-transport-security': 'max-age=63072000',
        'x-frame-options': 'DENY',
        'x-content-type-options': 'nosniff',
        server: 'fixture',
      },
      body: '<p>home</p>',
    },
    '/plain': { headers: { 'content-type': 'text/plain' }, body: 'plain' },
    '/moved': { status: 301, headers: { location: '/' } },
    '/slow': { delayMs: 2_000, body: 'late' },
    '/robots.txt': { headers: { 'content-type': 'text/plain; charset=utf-8' }, body: 'User-agent: *\nDisallow: /private/\n' },
  });
  const bare = new FixtureServer({});
  const odd = new FixtureServer({
    '/robots.txt': { headers: { 'content-type': 'text/html' }, body: '<html>not robots</html>' },
  });
  const big = new FixtureServer({ '/robots.txt': { headers: { 'content-type': 'text/plain' }, body: bigRobots } });
  const broken = new FixtureServer({ '/robots.txt': { status: 500, body: 'oops' } });
  for (let i = 0; i < 7; i += 1) site.route(`/loop${i}`, { status: 302, headers: { location: `/loop${i + 1}` } });
  let t: TestApp;

  beforeAll(async () => {
    await Promise.all([site.start(), bare.start(), odd.start(), big.start(), broken.start()]);
  });
  afterAll(async () => {
    await Promise.all([site.stop(), bare.stop(), odd.stop(), big.stop(), broken.stop()]);
  });
  beforeEach(async () => {
    t = await env.start({ FETCH_ALLOW_PRIVATE: 'true', FETCH_TIMEOUT_SEC: '0.5', FETCH_MAX_BYTES: '1024', RATE_LIMIT_PER_MINUTE: '0' });
  });

  describe('POST /osint/http_headers', () => {
    it('reports the status, the headers and which security headers are present', async () => {
      const res = await t.request('/osint/http_headers', { body: { url: site.url('/moved') } });
      expect(res.status).toBe(200);
      const body = await res.json();
      expect(body).toEqual({
        url: site.url('/'),
        status: 200,
        headers: expect.objectContaining({ server: 'fixture', 'x-frame-options': 'DENY' }),
        security: {
          strict_transport_security: true,
          content_security_policy: false,
          x_frame_options: true,
          x_content_type_options: true,
          referrer_policy: false,
          permissions_policy: false,
          missing: ['content-security-policy', 'referrer-policy', 'permissions-policy'],
        },
        redirects: [site.url('/moved')],
      });
      expect(site.requests.at(-1)?.headers['user-agent']).toMatch(/^Vega\/\d+\.\d+\.\d+ \(/);
    });

    it('reports an error status as it is', async () => {
      const res = await t.request('/osint/http_headers', { body: { url: site.url('/missing') } });
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ status: 404 });
    });

    it('answers 502 after more than 5 redirects', async () => {
      const res = await t.request('/osint/http_headers', { body: { url: site.url('/loop0') } });
      expect(res.status).toBe(502);
      expect((await res.json()).message).toBe(`${site.url('/loop0')} redirected more than 5 times`);
    });

    it('answers 504 when the site does not answer within FETCH_TIMEOUT_SEC', async () => {
      const res = await t.request('/osint/http_headers', { body: { url: site.url('/slow') } });
      expect(res.status).toBe(504);
      expect((await res.json()).message).toBe(`${site.url('/slow')} did not answer within 0.5 s`);
    });

    it('answers 502 when nothing listens', async () => {
      const port = bare.port;
      await bare.stop();
      const res = await t.request('/osint/http_headers', { body: { url: `http://127.0.0.1:${port}/` } });
      expect(res.status).toBe(502);
      expect((await res.json()).message).toBe(`Could not fetch http://127.0.0.1:${port}/: connection refused`);
      await bare.start();
    });

    it.each([
      ['a missing url', {}, 'url is required'],
      ['an empty url', { url: '' }, 'url must not be empty'],
      ['a url that is not a string', { url: 42 }, 'url must be a string'],
      ['an over-long url', { url: `http://a.test/${'x'.repeat(2048)}` }, 'url must be shorter than or equal to 2048 characters'],
      ['an unknown field', { url: 'http://a.test/', follow: true }, 'property follow should not exist'],
    ])('answers 400 for %s', async (_case, body, message) => {
      const res = await t.request('/osint/http_headers', { body });
      expect(res.status).toBe(400);
      expect((await res.json()).message).toContain(message);
    });
  });

  describe('POST /osint/robots', () => {
    it("reads robots.txt at the URL's origin", async () => {
      const res = await t.request('/osint/robots', { body: { url: site.url('/some/page?q=1') } });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({
        url: site.url('/robots.txt'),
        found: true,
        robots: 'User-agent: *\nDisallow: /private/\n',
      });
    });

    it('answers found: false when the site has none', async () => {
      const res = await t.request('/osint/robots', { body: { url: bare.url('/') } });
      expect(await res.json()).toEqual({ url: bare.url('/robots.txt'), found: false, robots: '' });
    });

    it('answers 502 for a robots.txt that is not text/plain', async () => {
      const res = await t.request('/osint/robots', { body: { url: odd.origin } });
      expect(res.status).toBe(502);
      expect((await res.json()).message).toBe(`${odd.url('/robots.txt')} answered with content type "text/html"; expected text/plain`);
    });

    it('answers 502 for a robots.txt over FETCH_MAX_BYTES', async () => {
      const res = await t.request('/osint/robots', { body: { url: big.origin } });
      expect(res.status).toBe(502);
      expect((await res.json()).message).toBe(`${big.url('/robots.txt')} is larger than 1024 bytes (FETCH_MAX_BYTES)`);
    });

    it('answers 502 for a server error', async () => {
      const res = await t.request('/osint/robots', { body: { url: broken.origin } });
      expect(res.status).toBe(502);
      expect((await res.json()).message).toBe(`${broken.url('/robots.txt')} answered HTTP 500`);
    });

    it('answers 400 for a URL that is not http(s)', async () => {
      const res = await t.request('/osint/robots', { body: { url: 'gopher://127.0.0.1/' } });
      expect(res.status).toBe(400);
    });
  });
});
