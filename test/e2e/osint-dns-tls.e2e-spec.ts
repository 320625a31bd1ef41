import { readFileSync } from 'node:fs';
import { createServer as createTcpServer, type Server as TcpServer } from 'node:net';
import { join } from 'node:path';
import { createServer, type Server } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { FakeDns } from '../support/fake-dns';
import { TestApp, useAppWithFakeOllama } from '../support/test-app';

const TLS_DIR = join(__dirname, '..', 'fixtures', 'tls');
const pem = (name: string) => readFileSync(join(TLS_DIR, name));

const sockets = new Set<import('node:net').Socket>();

async function listen<T extends Server | TcpServer>(server: T): Promise<number> {
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

describe('OSINT: DNS and TLS', () => {
  const env = useAppWithFakeOllama();
  const dns = new FakeDns({
    'example.test': {
      A: ['127.0.0.10'],
      AAAA: ['::1'],
      MX: [
        { preference: 20, exchange: 'mx2.example.test' },
        { preference: 10, exchange: 'mx1.example.test' },
      ],
      TXT: ['v=spf1 -all', 'google-site-verification=abc123'],
      NS: ['ns1.example.test', 'ns2.example.test'],
    },
    'www.example.test': { CNAME: 'example.test' },
    'mailonly.test': { MX: [{ preference: 5, exchange: 'mail.example.test' }] },
    'self-signed.vega.test': { A: ['127.0.0.1'] },
    'expired.vega.test': { A: ['127.0.0.1'] },
    '1.0.0.127.in-addr.arpa': { PTR: ['localhost.example.test', 'loop.example.test'] },
  });
  const selfSigned = createServer({ key: pem('self-signed.key'), cert: pem('self-signed.crt') }, (socket) => socket.end());
  const expired = createServer({ key: pem('expired.key'), cert: pem('expired.crt') }, (socket) => socket.end());
  const plain = createTcpServer((socket) => socket.end('SSH-2.0-OpenSSH_9.6\r\n'));
  const ports = { selfSigned: 0, expired: 0, plain: 0 };
  let t: TestApp;

  beforeAll(async () => {
    await dns.start();
    ports.selfSigned = await listen(selfSigned);
    ports.expired = await listen(expired);
    ports.plain = await listen(plain);
  });
  afterAll(async () => {
    await dns.stop();
    for (const socket of sockets) socket.destroy();
    await Promise.all([selfSigned, expired, plain].map((server) => new Promise((resolve) => server.close(resolve))));
  });

  const start = (vars: Record<string, string> = {}) =>
    env.start({ RATE_LIMIT_PER_MINUTE: '0', DNS_SERVERS: dns.server, FETCH_ALLOW_PRIVATE: 'true', FETCH_TIMEOUT_SEC: '2', ...vars });

  describe('POST /osint/dns', () => {
    beforeEach(async () => {
      t = await start();
    });

    it('answers the addresses and the A, AAAA, MX, TXT, NS and CNAME records', async () => {
      const res = await t.request('/osint/dns', { body: { hostname: 'example.test' } });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({
        hostname: 'example.test',
        addresses: ['127.0.0.10', '::1'],
        records: {
          A: ['127.0.0.10'],
          AAAA: ['::1'],
          MX: [
            { exchange: 'mx1.example.test', priority: 10 },
            { exchange: 'mx2.example.test', priority: 20 },
          ],
          TXT: ['v=spf1 -all', 'google-site-verification=abc123'],
          NS: ['ns1.example.test', 'ns2.example.test'],
          CNAME: [],
        },
      });
    });

    it('reports a CNAME, and a name with only MX records', async () => {
      const www = await (await t.request('/osint/dns', { body: { hostname: 'www.example.test' } })).json();
      expect(www.records.CNAME).toEqual(['example.test']);
      const mail = await (await t.request('/osint/dns', { body: { hostname: 'mailonly.test.' } })).json();
      expect(mail).toMatchObject({ hostname: 'mailonly.test', addresses: [], records: { A: [], MX: [{ exchange: 'mail.example.test', priority: 5 }] } });
    });

    it('answers 404 for a name that does not exist', async () => {
      const res = await t.request('/osint/dns', { body: { hostname: 'nope.test' } });
      expect(res.status).toBe(404);
      expect((await res.json()).message).toBe('nope.test has no DNS records');
    });

    it.each([
      ['a missing hostname', {}, 'hostname is required'],
      ['a hostname with spaces', { hostname: 'bad host' }, 'hostname must be a valid host name'],
      ['a URL instead of a hostname', { hostname: 'http://example.test/' }, 'hostname must be a valid host name'],
      ['an over-long hostname', { hostname: `${'a'.repeat(250)}.test` }, 'hostname must be shorter than or equal to 253 characters'],
    ])('answers 400 for %s', async (_case, body, message) => {
      const res = await t.request('/osint/dns', { body });
      expect(res.status).toBe(400);
      expect((await res.json()).message).toContain(message);
    });
  });

  describe('POST /osint/reverse_dns', () => {
    beforeEach(async () => {
      t = await start();
    });

    it('answers the PTR names', async () => {
      const res = await t.request('/osint/reverse_dns', { body: { ip: '127.0.0.1' } });
      expect(await res.json()).toEqual({ ip: '127.0.0.1', names: ['localhost.example.test', 'loop.example.test'] });
    });

    it('looks up IPv6 addresses under ip6.arpa', async () => {
      const res = await t.request('/osint/reverse_dns', { body: { ip: '::1' } });
      expect(await res.json()).toEqual({ ip: '::1', names: [] });
      expect(dns.queries.at(-1)).toEqual({ name: `1.${'0.'.repeat(31)}ip6.arpa`, type: 'PTR' });
    });

    it('answers an empty list for an address without PTR records', async () => {
      const res = await t.request('/osint/reverse_dns', { body: { ip: '127.0.0.9' } });
      expect(await res.json()).toEqual({ ip: '127.0.0.9', names: [] });
    });

    it.each([['999.1.1.1'], ['example.test'], ['']])('answers 400 for ip %p', async (ip) => {
      const res = await t.request('/osint/reverse_dns', { body: { ip } });
      expect(res.status).toBe(400);
      expect((await res.json()).message).toContain('ip must be an IPv4 or IPv6 address');
    });
  });

  describe('POST /osint/ssl_cert', () => {
    it('reads a self-signed certificate and says why it is not trusted', async () => {
      t = await start();
      const res = await t.request('/osint/ssl_cert', { body: { host: 'self-signed.vega.test', port: ports.selfSigned } });
      expect(res.status).toBe(200);
      const body = await res.json();
      expect(body).toEqual({
        host: 'self-signed.vega.test',
        port: ports.selfSigned,
        subject: { CN: 'self-signed.vega.test', O: 'Vega Test Fixtures' },
        issuer: { CN: 'self-signed.vega.test', O: 'Vega Test Fixtures' },
        not_before: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        not_after: expect.stringMatching(/^21\d\d-/),
        days_left: expect.any(Number),
        san: ['self-signed.vega.test', 'www.self-signed.vega.test', '127.0.0.1'],
        fingerprint256: expect.stringMatching(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/),
        serial: expect.stringMatching(/^[0-9A-F]+$/),
        authorized: false,
        authorization_error: 'DEPTH_ZERO_SELF_SIGNED_CERT',
        protocol: 'TLSv1.3',
      });
      expect(body.days_left).toBeGreaterThan(30_000);
    });

    it('reads an expired certificate with negative days_left', async () => {
      t = await start();
      const res = await t.request('/osint/ssl_cert', { body: { host: 'expired.vega.test', port: ports.expired } });
      const body = await res.json();
      expect(body).toMatchObject({
        subject: { CN: 'expired.vega.test' },
        not_before: '2020-01-01T00:00:00.000Z',
        not_after: '2021-01-01T00:00:00.000Z',
        authorized: false,
        authorization_error: 'CERT_HAS_EXPIRED',
      });
      expect(body.days_left).toBeLessThan(-365);
    });

    it('reports a host that the certificate does not name', async () => {
      t = await start();
      const res = await t.request('/osint/ssl_cert', { body: { host: '127.0.0.1', port: ports.expired } });
      expect((await res.json()).authorized).toBe(false);
    });

    it('answers 502 when the port does not speak TLS, or nothing listens', async () => {
      t = await start();
      const notTls = await t.request('/osint/ssl_cert', { body: { host: '127.0.0.1', port: ports.plain } });
      expect(notTls.status).toBe(502);
      expect((await notTls.json()).message).toMatch(/^TLS connection to 127\.0\.0\.1:\d+ failed: /);
    });

    it('refuses loopback targets with a 400 when the SSRF guard is on', async () => {
      t = await start({ FETCH_ALLOW_PRIVATE: 'false' });
      for (const host of ['127.0.0.1', 'self-signed.vega.test', '[::1]', '::ffff:127.0.0.1']) {
        const res = await t.request('/osint/ssl_cert', { body: { host, port: ports.selfSigned } });
        expect(res.status).toBe(400);
        expect((await res.json()).message).toMatch(/^Refused to connect to .*loopback|IPv4-mapped/);
      }
    });

    it.each([
      ['a missing host', {}, 'host is required'],
      ['port 0', { host: 'a.test', port: 0 }, 'port must not be less than 1'],
      ['port 70000', { host: 'a.test', port: 70000 }, 'port must not be greater than 65535'],
      ['a port that is not a number', { host: 'a.test', port: '443' }, 'port must be an integer number'],
    ])('answers 400 for %s', async (_case, body, message) => {
      t = await start();
      const res = await t.request('/osint/ssl_cert', { body });
      expect(res.status).toBe(400);
      expect((await res.json()).message).toContain(message);
    });
  });
});
