import { FakeDns } from '../support/fake-dns';
import { TestApp, useAppWithFakeOllama } from '../support/test-app';

/**
 * Hosts that are not host names, and names that do not resolve, on every OSINT route: a 400 or
 * the route's documented upstream status, never a 5xx of Vega's own. Look-ups go to the fake
 * DNS server only (DNS_SERVERS), so nothing leaves loopback.
 */
describe('OSINT routes: malformed hosts and names that do not resolve', () => {
  const env = useAppWithFakeOllama();
  const dns = new FakeDns({ 'known.test': { A: ['127.0.0.1'] } });
  let t: TestApp;

  beforeAll(async () => {
    await dns.start();
  });
  afterAll(async () => {
    await dns.stop();
  });
  beforeEach(async () => {
    t = await env.start({ RATE_LIMIT_PER_MINUTE: '0', DNS_SERVERS: dns.server, NET_SCAN_ALLOW: '127.0.0.1', FETCH_TIMEOUT_SEC: '2' });
  });

  const post = async (route: string, body: unknown) => {
    const res = await t.request(route, { body });
    return { status: res.status, message: String((await res.json()).message) };
  };

  const MALFORMED = ["' OR 1=1--", 'bad host', 'a..b', '-leading.test', 'x'.repeat(64) + '.test', 'http://known.test/', '[::1', '::1]'];

  it.each(MALFORMED)('POST /osint/ssl_cert answers 400 for host %p', async (host) => {
    await expect(post('/osint/ssl_cert', { host })).resolves.toEqual({ status: 400, message: 'host must be a host name or an IP address' });
  });

  it.each(MALFORMED)('POST /net/scan answers 400 for host %p', async (host) => {
    await expect(post('/net/scan', { host, ports: [80] })).resolves.toEqual({ status: 400, message: 'host must be a host name or an IP address' });
  });

  it('POST /osint/ssl_cert and /net/scan still take names, IPv4 and IPv6 addresses, bracketed or not', async () => {
    for (const host of ['known.test', 'known.test.', '127.0.0.1', '::1', '[::1]']) {
      const res = await post('/osint/ssl_cert', { host, port: 1 });
      // Loopback is refused by the SSRF guard: the host itself was accepted.
      expect(res).toEqual({ status: 400, message: expect.stringMatching(/^Refused to connect to .*loopback/) });
    }
    for (const host of ['known.test', '127.0.0.1']) {
      expect((await post('/net/scan', { host, ports: [1] })).status).toBe(200);
    }
  });

  it('POST /osint/ssl_cert answers 502 naming the host for a name that does not resolve, like /osint/http_headers', async () => {
    await expect(post('/osint/ssl_cert', { host: 'nosuch.example.test' })).resolves.toEqual({
      status: 502,
      message: 'Could not resolve nosuch.example.test: host not found',
    });
    await expect(post('/osint/http_headers', { url: 'https://nosuch.example.test/' })).resolves.toEqual({
      status: 502,
      message: 'Could not fetch https://nosuch.example.test/: host not found',
    });
    await expect(post('/net/scan', { host: 'nosuch.example.test', ports: [80] })).resolves.toEqual({
      status: 502,
      message: 'Could not resolve nosuch.example.test: host not found',
    });
  });

  it.each([
    ['/osint/dns', { hostname: "' OR 1=1--" }, 'hostname must be a valid host name'],
    ['/osint/reverse_dns', { ip: "' OR 1=1--" }, 'ip must be an IPv4 or IPv6 address'],
    ['/osint/whois', { domain: "' OR 1=1--" }, 'domain must be a valid domain name'],
    ['/osint/username', { username: "' OR 1=1--" }, 'username may only contain letters, digits, ".", "_" and "-"'],
    ['/osint/http_headers', { url: "' OR 1=1--" }, `"' OR 1=1--" is not a valid URL`],
    ['/osint/robots', { url: "' OR 1=1--" }, `"' OR 1=1--" is not a valid URL`],
    ['/osint/http_headers', { url: "http://' OR 1=1--/" }, `"http://' OR 1=1--/" is not a valid URL`],
    ['/osint/http_headers', { url: 'http://a..b/' }, 'Could not fetch http://a..b/: a..b is not a valid host name'],
    ['/osint/robots', { url: 'http://a..b/' }, 'Could not fetch http://a..b/robots.txt: a..b is not a valid host name'],
  ])('POST %s answers 400 for %j', async (route, body, message) => {
    await expect(post(route, body)).resolves.toEqual({ status: 400, message });
  });

  it('POST /osint/dns answers 404 for a name that does not exist', async () => {
    await expect(post('/osint/dns', { hostname: 'nosuch.example.test' })).resolves.toEqual({ status: 404, message: 'nosuch.example.test has no DNS records' });
  });
});
