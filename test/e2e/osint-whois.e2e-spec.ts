import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { FixtureServer } from '../support/fixture-server';
import { fixture } from '../support/fixtures';
import { TestApp, useAppWithFakeOllama } from '../support/test-app';

const RDAP = { 'content-type': 'application/rdap+json' };

/** A WHOIS server (port-43 protocol on a loopback port): reads the query line, answers, closes. */
function whoisServer(answer: (query: string) => string): { server: Server; queries: string[]; sockets: Set<Socket> } {
  const queries: string[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    let buffered = '';
    socket.on('data', (chunk) => {
      buffered += chunk.toString();
      if (!buffered.includes('\r\n')) return;
      const query = buffered.trim();
      queries.push(query);
      socket.end(answer(query));
    });
  });
  return { server, queries, sockets };
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

describe('POST /osint/whois', () => {
  const env = useAppWithFakeOllama();
  const rdap = new FixtureServer({
    '/rdap/domain/example.test': { headers: RDAP, body: fixture('rdap-example.json') },
    '/rdap/domain/missing.test': { status: 404, headers: RDAP, body: '{"errorCode":404,"title":"Not Found"}' },
    '/rdap/domain/broken.test': { status: 500, body: 'oops' },
  });
  const registry = whoisServer((query) => (query === 'missing.whois' ? 'No match for "MISSING.WHOIS".\r\n' : fixture('whois-registry.txt')));
  let registryPort = 0;
  const iana = whoisServer((query) =>
    query === 'elsewhere.whois'
      ? 'domain:       WHOIS\r\nrefer:        127.0.0.1:1\r\n'
      : `% IANA WHOIS server\r\n\r\ndomain:       WHOIS\r\n\r\nrefer:        127.0.0.1:${registryPort}\r\n`,
  );
  let ianaPort = 0;
  let t: TestApp;

  beforeAll(async () => {
    await rdap.start();
    rdap.route('/dns.json', {
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        version: '1.0',
        publication: '2026-11-24T00:00:00Z',
        description: 'RDAP bootstrap file for Domain Name System registrations',
        services: [
          [['test', 'example'], [`${rdap.origin}/rdap/`]],
          [['other'], ['https://rdap.other.invalid/']],
        ],
      }),
    });
    registryPort = await listen(registry.server);
    ianaPort = await listen(iana.server);
  });
  afterAll(async () => {
    await rdap.stop();
    for (const w of [registry, iana]) {
      for (const socket of w.sockets) socket.destroy();
      await new Promise((resolve) => w.server.close(resolve));
    }
  });
  beforeEach(async () => {
    rdap.requests.length = 0;
    registry.queries.length = 0;
    // The SSRF guard stays on: the RDAP server and the registry's WHOIS port are allowed, nothing else.
    t = await env.start({
      RATE_LIMIT_PER_MINUTE: '0',
      RDAP_BOOTSTRAP_URL: rdap.url('/dns.json'),
      WHOIS_SERVER: `127.0.0.1:${ianaPort}`,
      FETCH_ALLOW_HOSTS: `${new URL(rdap.origin).host},127.0.0.1:${registryPort}`,
    });
  });

  it('answers from RDAP, found through the bootstrap file', async () => {
    const res = await t.request('/osint/whois', { body: { domain: 'Example.TEST' } });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      domain: 'example.test',
      source: 'rdap',
      registrar: 'RESERVED-Internet Assigned Numbers Authority',
      created: '1995-08-14T04:00:00Z',
      updated: '2025-08-14T07:01:39Z',
      expires: '2026-08-13T04:00:00Z',
      status: ['client delete prohibited', 'client transfer prohibited', 'client update prohibited'],
      nameservers: ['a.iana-servers.net', 'b.iana-servers.net'],
      server: rdap.url('/rdap/domain/example.test'),
      rdap_error: null,
    });
    // The bootstrap file is read once and kept.
    await t.request('/osint/whois', { body: { domain: 'example.test' } });
    expect(rdap.requests.filter((r) => r.path === '/dns.json')).toHaveLength(1);
  });

  it('answers 404 when the RDAP registry does not know the domain', async () => {
    const res = await t.request('/osint/whois', { body: { domain: 'missing.test' } });
    expect(res.status).toBe(404);
    expect((await res.json()).message).toBe(`missing.test is not registered (RDAP: ${rdap.url('/rdap/domain/missing.test')} answered 404)`);
    expect(registry.queries).toEqual([]);
  });

  it('falls back to WHOIS on port 43 when the TLD has no RDAP service, following the referral', async () => {
    const res = await t.request('/osint/whois', { body: { domain: 'example.whois' } });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      domain: 'example.whois',
      source: 'whois',
      registrar: 'Example Registrar, Inc.',
      created: '1995-08-14T04:00:00Z',
      updated: '2025-08-14T07:01:39Z',
      expires: '2026-08-13T04:00:00Z',
      status: ['clientDeleteProhibited', 'clientTransferProhibited'],
      nameservers: ['a.iana-servers.net', 'b.iana-servers.net'],
      server: `whois://127.0.0.1:${registryPort}`,
      rdap_error: 'no RDAP service for .whois',
    });
    expect(iana.queries.at(-1)).toBe('example.whois');
    expect(registry.queries).toEqual(['example.whois']);
  });

  it('falls back to WHOIS when the RDAP server fails, and says why', async () => {
    const res = await t.request('/osint/whois', { body: { domain: 'broken.test' } });
    const body = await res.json();
    expect(body).toMatchObject({ source: 'whois', rdap_error: `${rdap.url('/rdap/domain/broken.test')} answered HTTP 500` });
  });

  it('answers 404 when WHOIS has no match', async () => {
    const res = await t.request('/osint/whois', { body: { domain: 'missing.whois' } });
    expect(res.status).toBe(404);
    expect((await res.json()).message).toBe(`missing.whois is not registered (WHOIS 127.0.0.1:${registryPort})`);
  });

  it('refuses a referral to a loopback server that is not allowed, with a 400', async () => {
    const res = await t.request('/osint/whois', { body: { domain: 'elsewhere.whois' } });
    expect(res.status).toBe(400);
    expect((await res.json()).message).toContain('Refused to query WHOIS at 127.0.0.1:1: 127.0.0.1 is a loopback address');
  });

  it.each([
    ['a missing domain', {}, 'domain is required'],
    ['a name without a TLD', { domain: 'localhost' }, 'domain must be a valid domain name'],
    ['a domain with spaces', { domain: 'bad domain.test' }, 'domain must be a valid domain name'],
    ['a URL', { domain: 'https://example.test/' }, 'domain must be a valid domain name'],
  ])('answers 400 for %s', async (_case, body, message) => {
    const res = await t.request('/osint/whois', { body });
    expect(res.status).toBe(400);
    expect((await res.json()).message).toContain(message);
  });
});
