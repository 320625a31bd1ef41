import { FakeDns } from '../support/fake-dns';
import { FixtureServer } from '../support/fixture-server';
import { TestApp, useAppWithFakeOllama } from '../support/test-app';

/**
 * The SSRF guard of the outbound fetcher, end to end through POST /osint/http_headers with the
 * check on. Every target is a loopback-range form: nothing here sends a packet off this host,
 * and for refused targets the local server proves that not even a loopback packet was sent.
 */
describe('Outbound fetcher: SSRF guard', () => {
  const env = useAppWithFakeOllama();
  const site = new FixtureServer({
    '/': { body: '<h1>allowed</h1>' },
    '/to-localhost': (url) => ({ status: 302, headers: { location: `http://localhost:${url.port}/` } }),
    '/to-other-loopback': { status: 301, headers: { location: 'http://127.0.0.2/' } },
    '/to-mapped': { status: 307, headers: { location: 'http://[::ffff:127.0.0.1]/' } },
    '/to-ftp': { status: 302, headers: { location: 'ftp://127.0.0.1/file' } },
    '/to-self': { status: 302, headers: { location: '/' } },
  });
  const dns = new FakeDns({ 'intranet.test': { A: ['127.0.0.1'] }, 'v6only.test': { AAAA: ['::1'] } });
  let t: TestApp;

  beforeAll(async () => {
    await site.start();
    await dns.start();
  });
  afterAll(async () => {
    await site.stop();
    await dns.stop();
  });
  beforeEach(() => {
    site.requests.length = 0;
  });

  const headersOf = (url: string) => t.request('/osint/http_headers', { body: { url } });

  describe('with the check on and nothing allowed', () => {
    beforeEach(async () => {
      t = await env.start({ RATE_LIMIT_PER_MINUTE: '0', DNS_SERVERS: dns.server });
    });

    it.each([
      ['127.0.0.1', (port: number) => `http://127.0.0.1:${port}/`, '127.0.0.1 is a loopback address'],
      ['127.0.0.2', (port: number) => `http://127.0.0.2:${port}/`, '127.0.0.2 is a loopback address'],
      ['[::1]', (port: number) => `http://[::1]:${port}/`, '::1 is a loopback address'],
      ['[::ffff:127.0.0.1]', (port: number) => `http://[::ffff:127.0.0.1]:${port}/`, '::ffff:7f00:1 is an IPv4-mapped IPv6 address'],
      ['0x7f000001 (hex)', (port: number) => `http://0x7f000001:${port}/`, '127.0.0.1 is a loopback address'],
      ['2130706433 (decimal)', (port: number) => `http://2130706433:${port}/`, '127.0.0.1 is a loopback address'],
      ['0177.0.0.1 (octal)', (port: number) => `http://0177.0.0.1:${port}/`, '127.0.0.1 is a loopback address'],
      ['https on 127.0.0.1', (port: number) => `https://127.0.0.1:${port}/`, '127.0.0.1 is a loopback address'],
      ['a name the DNS server maps to loopback', (port: number) => `http://intranet.test:${port}/`, 'intranet.test resolves to 127.0.0.1, which is a loopback address'],
      ['a name the DNS server maps to ::1', (port: number) => `http://v6only.test:${port}/`, 'v6only.test resolves to ::1, which is a loopback address'],
    ])('refuses %s with a 400 that says why, before connecting', async (_form, target, reason) => {
      const res = await headersOf(target(site.port));
      expect(res.status).toBe(400);
      const body = await res.json();
      expect(body).toMatchObject({ statusCode: 400, error: 'Bad Request' });
      expect(body.message).toContain(reason);
      expect(body.message).toContain('FETCH_ALLOW_PRIVATE');
      expect(site.requests).toHaveLength(0);
    });

    it.each([
      ['ftp://127.0.0.1/file', 'only http and https URLs are fetched (got ftp:)'],
      ['file:///etc/passwd', 'only http and https URLs are fetched (got file:)'],
      ['javascript:alert(1)', 'only http and https URLs are fetched'],
      ['not a url', '"not a url" is not a valid URL'],
      ['http://user:secret@example.com/', 'URLs with credentials are not fetched'],
    ])('refuses %s with a 400', async (url, message) => {
      const res = await headersOf(url);
      expect(res.status).toBe(400);
      expect((await res.json()).message).toContain(message);
    });

    it('answers 502 when the name does not resolve (the DNS server has no such name)', async () => {
      const res = await headersOf('http://unknown.test/');
      expect(res.status).toBe(502);
      expect((await res.json()).message).toBe('Could not fetch http://unknown.test/: host not found');
    });
  });

  describe('with the check on and one local origin allowed (FETCH_ALLOW_HOSTS)', () => {
    beforeEach(async () => {
      t = await env.start({ RATE_LIMIT_PER_MINUTE: '0', FETCH_ALLOW_HOSTS: `127.0.0.1:${site.port}` });
    });

    it('fetches the allowed origin, following a redirect within it', async () => {
      const res = await headersOf(site.url('/to-self'));
      expect(res.status).toBe(200);
      const body = await res.json();
      expect(body).toMatchObject({ url: site.url('/'), status: 200, redirects: [site.url('/to-self')] });
      expect(site.requests.map((r) => r.path)).toEqual(['/to-self', '/']);
    });

    it.each([
      ['/to-localhost', (port: number) => `Refused to fetch http://localhost:${port}/ (redirected from `, 'localhost resolves to 127.0.0.1, which is a loopback address'],
      ['/to-other-loopback', () => 'Refused to fetch http://127.0.0.2/ (redirected from ', '127.0.0.2 is a loopback address'],
      ['/to-mapped', () => 'Refused to fetch http://[::ffff:7f00:1]/ (redirected from ', 'is an IPv4-mapped IPv6 address'],
    ])('re-checks the redirect of %s and refuses it with a 400', async (path, start, reason) => {
      const res = await headersOf(site.url(path));
      expect(res.status).toBe(400);
      const { message } = await res.json();
      expect(message).toContain(start(site.port));
      expect(message).toContain(reason);
      // Only the allowed page itself was requested; the redirect target never was.
      expect(site.requests.map((r) => r.path)).toEqual([path]);
    });

    it('refuses a redirect to another scheme', async () => {
      const res = await headersOf(site.url('/to-ftp'));
      expect(res.status).toBe(400);
      expect((await res.json()).message).toBe(
        `${site.url('/to-ftp')} redirected to ftp://127.0.0.1/file: only http and https URLs are fetched (got ftp:)`,
      );
    });

    it('refuses localhost: the system resolver maps it to loopback, and only 127.0.0.1:<port> is allowed', async () => {
      const res = await headersOf(`http://localhost:${site.port}/`);
      expect(res.status).toBe(400);
      expect((await res.json()).message).toContain('localhost resolves to');
      expect(site.requests).toHaveLength(0);
    });

    it('keeps refusing other ports of the allowed host', async () => {
      const res = await headersOf(`http://127.0.0.1:${site.port + 1 === 65536 ? 1 : site.port + 1}/`);
      expect(res.status).toBe(400);
    });
  });
});
