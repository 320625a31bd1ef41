import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createServer as createTlsServer } from 'node:tls';
import { FakeDns } from '../support/fake-dns';
import { FakeOllama } from '../support/fake-ollama';
import { FixtureServer } from '../support/fixture-server';
import { fixture } from '../support/fixtures';
import { tempDir } from '../support/test-app';
import { ANSI, ROOT, runVega, VegaOptions } from '../support/cli';

jest.setTimeout(60_000);

const TLS_DIR = join(__dirname, '..', 'fixtures', 'tls');
const pem = (name: string) => readFileSync(join(TLS_DIR, name));

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

/** A TCP server on `host` that counts the connections it receives. */
function counting(): { server: Server; connections: () => number; sockets: Set<Socket> } {
  let count = 0;
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    count += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.end();
  });
  return { server, connections: () => count, sockets };
}

async function listen(server: Server, host: string): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return (server.address() as AddressInfo).port;
}

const fake = new FakeOllama({ models: ['mistral'] });
const pages = new FixtureServer({
  '/circuit-breaker': { body: fixture('pages/circuit-breaker.html') },
  '/retry': { body: fixture('pages/retry.html') },
  '/secure': {
    headers: { 'strict-transport-security': 'max-age=63072000', 'x-frame-options': 'DENY', server: 'fixture' },
    body: '<p>home</p>',
  },
  '/moved': { status: 301, headers: { location: '/secure' } },
  '/gh/alice': { body: '<h1>alice</h1>' },
  '/hn': (url) => ({ body: url.searchParams.get('id') === 'alice' ? '<td>user: alice</td>' : 'No such user.' }),
  '/redir/alice': { status: 302, headers: { location: '/login' } },
  '/robots.txt': { headers: { 'content-type': 'text/plain; charset=utf-8' }, body: 'User-agent: *\nDisallow: /private/\n' },
});
/** What the fake SearXNG answers: [title, url, snippet]. */
let results: [string, string, string][] = [];
const searx = new FixtureServer({
  '/search': (url) => ({
    headers: { 'content-type': 'application/json' },
    body:
      url.searchParams.get('categories') === 'images'
        ? fixture('searxng/search-images.json')
        : JSON.stringify({ query: 'q', results: results.map(([title, url, content]) => ({ title, url, content, engine: 'fixture' })) }),
  }),
});
const dns = new FakeDns({
  'example.test': {
    A: ['127.0.0.10'],
    MX: [{ preference: 10, exchange: 'mx1.example.test' }],
    TXT: ['v=spf1 -all'],
    NS: ['ns1.example.test'],
  },
  'self-signed.vega.test': { A: ['127.0.0.1'] },
  '1.0.0.127.in-addr.arpa': { PTR: ['localhost.example.test', 'loop.example.test'] },
});
const selfSigned = createTlsServer({ key: pem('self-signed.key'), cert: pem('self-signed.crt') }, (socket) => socket.end());
const tlsSockets = new Set<Socket>();
selfSigned.on('connection', (socket) => {
  tlsSockets.add(socket);
  socket.on('close', () => tlsSockets.delete(socket));
});
const RDAP = { 'content-type': 'application/rdap+json' };
const rdap = new FixtureServer({ '/rdap/domain/example.test': { headers: RDAP, body: fixture('rdap-example.json') } });
const registry = whoisServer(() => fixture('whois-registry.txt'));
const iana = whoisServer(() => `% IANA WHOIS server\r\n\r\ndomain:       WHOIS\r\n\r\nrefer:        127.0.0.1:${ports.registry}\r\n`);
const open = counting();
const other = counting();
const ports = { open: 0, closed: 0, other: 0, tls: 0, registry: 0, iana: 0 };
let data: ReturnType<typeof tempDir>;
let sitesFile = '';

beforeAll(async () => {
  await Promise.all([fake.start(), pages.start(), searx.start(), dns.start(), rdap.start()]);
  rdap.route('/dns.json', {
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ version: '1.0', publication: '2026-11-24T00:00:00Z', services: [[['test'], [`${rdap.origin}/rdap/`]]] }),
  });
  ports.tls = await listen(selfSigned, '127.0.0.1');
  ports.registry = await listen(registry.server, '127.0.0.1');
  ports.iana = await listen(iana.server, '127.0.0.1');
  ports.open = await listen(open.server, '127.0.0.1');
  const probe = createServer();
  ports.closed = await listen(probe, '127.0.0.1');
  await new Promise((resolve) => probe.close(resolve));
  ports.other = await listen(other.server, '127.0.0.2');
});
afterAll(async () => {
  await Promise.all([fake.stop(), pages.stop(), searx.stop(), dns.stop(), rdap.stop()]);
  for (const socket of tlsSockets) socket.destroy();
  await new Promise((resolve) => selfSigned.close(resolve));
  for (const s of [open, other, registry, iana]) {
    for (const socket of s.sockets) socket.destroy();
    await new Promise((resolve) => s.server.close(resolve));
  }
});
beforeEach(() => {
  data = tempDir('vega-cli-osint-');
  sitesFile = join(data.dir, 'sites.json');
  writeFileSync(
    sitesFile,
    JSON.stringify([
      { name: 'StatusSite', url: `${pages.origin}/gh/{}`, detect: 'status' },
      { name: 'AbsentText', url: `${pages.origin}/hn?id={}`, detect: 'text_absent', text: 'No such user.' },
      { name: 'Redirector', url: `${pages.origin}/redir/{}`, detect: 'status' },
      { name: 'Adult', url: `${pages.origin}/gh/{}`, detect: 'status', nsfw: true },
    ]),
  );
  results = [
    ['Circuit Breaker - Martin Fowler', pages.url('/circuit-breaker'), 'You wrap a protected function call in a circuit breaker object.'],
    ['Retry pattern', pages.url('/retry'), 'Handle transient failures by retrying.'],
    ['Gone', pages.url('/gone'), 'This page has moved away.'],
  ];
});
afterEach(() => {
  fake.reset();
  data.remove();
});

/**
 * The SSRF guard stays on: only the fixture site's origin is allowed (and SearXNG, as
 * configured); DNS goes to the local server. Every packet stays on loopback.
 */
const vega = (args: string[], options: VegaOptions = {}) =>
  runVega(args, {
    ...options,
    env: {
      VEGA_DATA_DIR: data.dir,
      OLLAMA_URL: fake.url,
      SEARCH_PROVIDER: 'searxng',
      SEARXNG_URL: searx.origin,
      FETCH_ALLOW_HOSTS: `127.0.0.1:${pages.port}`,
      FETCH_TIMEOUT_SEC: '2',
      DNS_SERVERS: dns.server,
      USERNAME_SITES_FILE: sitesFile,
      ...options.env,
    },
  });
const lines = (text: string) => text.trimEnd().split('\n');
const oneLine = (text: string) => lines(text).length === 1;

describe('vega search', () => {
  it('web: an aligned table when piped (no colour), the API JSON with --json', async () => {
    const table = await vega(['search', 'web', 'circuit', 'breaker', '--max', '2']);
    expect(table.code).toBe(0);
    expect(table.stdout).not.toMatch(ANSI);
    const rows = lines(table.stdout);
    expect(rows).toHaveLength(3);
    expect(rows[0]).toMatch(/^#  URL\s+TITLE$/);
    expect(rows[1]).toBe(`1  ${pages.url('/circuit-breaker')}  Circuit Breaker - Martin Fowler`);
    // Columns line up: every TITLE starts at the same place.
    expect(rows[2].indexOf('Retry pattern')).toBe(rows[1].indexOf('Circuit Breaker'));
    expect(rows[0].indexOf('TITLE')).toBe(rows[1].indexOf('Circuit Breaker'));
    expect(searx.requests.at(-1)!.query.get('q')).toBe('circuit breaker');

    const json = await vega(['search', 'web', '--json', 'circuit breaker']);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout).items[0]).toEqual({
      title: 'Circuit Breaker - Martin Fowler',
      href: pages.url('/circuit-breaker'),
      snippet: 'You wrap a protected function call in a circuit breaker object.',
      source: 'searxng',
    });
  });

  it('images: size, image URL and title as a table when piped, the API JSON with --json', async () => {
    const table = await vega(['search', 'images', 'circuit', 'breaker']);
    expect(table.code).toBe(0);
    expect(table.stdout).not.toMatch(ANSI);
    const rows = lines(table.stdout);
    expect(rows).toHaveLength(4);
    expect(rows[0]).toMatch(/^#\s+SIZE  IMAGE\s+TITLE$/);
    expect(rows[1]).toMatch(/^1  1600x1200  https:\/\/upload\.wikimedia\.org\/wikipedia\/commons\/6\/6a\/Miniature_circuit_breaker\.jpg\s+Miniature circuit breaker$/);
    expect(rows[2]).toMatch(/^2\s+1200x630  https:\/\/martinfowler\.com\/bliki\/images\/circuitBreaker\/state\.png\s+Circuit Breaker state diagram$/);
    expect(rows[3]).toMatch(/^3\s+-  https:\/\/example\.org\/gallery\/breaker\.webp\s+Breaker panel$/);
    expect(rows[3].indexOf('Breaker panel')).toBe(rows[1].indexOf('Miniature circuit breaker'));
    const request = searx.requests.at(-1)!;
    expect(request.query.get('categories')).toBe('images');
    expect(request.query.get('q')).toBe('circuit breaker');

    const json = await vega(['search', 'images', '--json', 'circuit breaker']);
    expect(json.code).toBe(0);
    const { items } = JSON.parse(json.stdout);
    expect(items[0]).toEqual({
      title: 'Miniature circuit breaker',
      image: 'https://upload.wikimedia.org/wikipedia/commons/6/6a/Miniature_circuit_breaker.jpg',
      thumbnail: 'https://upload.wikimedia.org/wikipedia/commons/thumb/6/6a/Miniature_circuit_breaker.jpg/320px-Miniature_circuit_breaker.jpg',
      url: 'https://commons.wikimedia.org/wiki/File:Miniature_circuit_breaker.jpg',
      width: 1600,
      height: 1200,
    });
    expect(items[2]).toMatchObject({ title: 'Breaker panel', width: null, height: null });
  });

  it('research: the summary from the model, then the numbered sources, failed pages marked', async () => {
    fake.enqueue({ kind: 'reply', text: 'A breaker trips after repeated failures [1]; retry transient ones [2].' });
    const result = await vega(['search', 'research', 'circuit breaker']);
    expect(result.code).toBe(0);
    const out = lines(result.stdout);
    expect(out[0]).toBe('A breaker trips after repeated failures [1]; retry transient ones [2].');
    expect(out[1]).toBe('');
    expect(out[2]).toMatch(/^SOURCE  URL\s+READ  TITLE$/);
    expect(out[3]).toMatch(new RegExp(`^\\s*\\[1\\]  ${pages.url('/circuit-breaker')}\\s+\\d+ chars  Circuit Breaker - Martin Fowler$`));
    expect(out[5]).toMatch(/\[3\]  .*\/gone\s+failed  Gone \(HTTP 404\)$/);
    // The model was given the pages' text, numbered.
    const prompt = fake.chatRequests()[0].body.messages.find((m: { role: string }) => m.role === 'user').content as string;
    expect(prompt).toContain(`[1] Circuit Breaker - Martin Fowler (${pages.url('/circuit-breaker')})`);
    expect(prompt).toContain('Once the failures reach a certain threshold, the circuit breaker trips');
  });

  it('research --rag --json: the answer with its sources, ranked by BM25', async () => {
    fake.enqueue({ kind: 'reply', text: 'It opens after a threshold of failures [1].' });
    const result = await vega(['search', 'research', '--rag', '--json', '--max', '2', 'circuit breaker threshold']);
    expect(result.code).toBe(0);
    const body = JSON.parse(result.stdout);
    expect(body).toMatchObject({ summary: 'It opens after a threshold of failures [1].', ranking: 'bm25', failed: [] });
    expect(body.sources[0]).toEqual({ n: 1, url: expect.stringContaining(pages.origin), title: expect.any(String), snippet: expect.any(String) });
  });
});

describe('vega osint', () => {
  it('dns: the records from the configured DNS server, as a table or JSON', async () => {
    const table = await vega(['osint', 'dns', 'example.test']);
    expect(table.code).toBe(0);
    expect(table.stdout).toContain('addresses  127.0.0.10');
    expect(table.stdout).toMatch(/^TYPE  VALUE$/m);
    expect(table.stdout).toMatch(/^A     127\.0\.0\.10$/m);
    expect(table.stdout).toMatch(/^TXT   v=spf1 -all$/m);
    expect(table.stdout).toMatch(/^MX    10 mx1\.example\.test$/m);
    const json = await vega(['osint', 'dns', 'example.test', '--json']);
    expect(JSON.parse(json.stdout)).toEqual({
      hostname: 'example.test',
      addresses: ['127.0.0.10'],
      records: { A: ['127.0.0.10'], AAAA: [], MX: [{ exchange: 'mx1.example.test', priority: 10 }], TXT: ['v=spf1 -all'], NS: ['ns1.example.test'], CNAME: [] },
    });
  });

  it('reverse-dns: one PTR name a line from the configured DNS server, or JSON', async () => {
    const table = await vega(['osint', 'reverse-dns', '127.0.0.1']);
    expect(table.code).toBe(0);
    expect(table.stdout).toBe('localhost.example.test\nloop.example.test\n');
    expect(dns.queries.at(-1)).toEqual({ name: '1.0.0.127.in-addr.arpa', type: 'PTR' });

    const json = await vega(['osint', 'reverse-dns', '--json', '127.0.0.1']);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual({ ip: '127.0.0.1', names: ['localhost.example.test', 'loop.example.test'] });
  });

  it('ssl: the certificate of an allowed host and port, why it is not trusted, as fields or JSON', async () => {
    // The guard stays on: only this host and port are exempt; the name resolves through the local DNS server.
    const env = { FETCH_ALLOW_HOSTS: `self-signed.vega.test:${ports.tls}` };
    const table = await vega(['osint', 'ssl', 'self-signed.vega.test', '--port', String(ports.tls)], { env });
    expect(table.code).toBe(0);
    expect(table.stdout).not.toMatch(ANSI);
    expect(table.stdout).toMatch(new RegExp(`^host\\s+self-signed\\.vega\\.test:${ports.tls}$`, 'm'));
    expect(table.stdout).toMatch(/^subject\s+CN=self-signed\.vega\.test, O=Vega Test Fixtures$/m);
    expect(table.stdout).toMatch(/^san\s+self-signed\.vega\.test, www\.self-signed\.vega\.test, 127\.0\.0\.1$/m);
    expect(table.stdout).toMatch(/^trusted\s+no \(DEPTH_ZERO_SELF_SIGNED_CERT\)$/m);
    expect(table.stdout).toMatch(/^protocol\s+TLSv1\.3$/m);

    const json = await vega(['osint', 'ssl', 'self-signed.vega.test', '--port', String(ports.tls), '--json'], { env });
    expect(json.code).toBe(0);
    const cert = JSON.parse(json.stdout);
    expect(cert).toMatchObject({
      host: 'self-signed.vega.test',
      port: ports.tls,
      subject: { CN: 'self-signed.vega.test', O: 'Vega Test Fixtures' },
      authorized: false,
      authorization_error: 'DEPTH_ZERO_SELF_SIGNED_CERT',
      fingerprint256: expect.stringMatching(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/),
    });
    expect(cert.days_left).toBeGreaterThan(30_000);
  });

  it("robots: the robots.txt at the URL's origin as text, or JSON", async () => {
    const text = await vega(['osint', 'robots', pages.url('/some/page?q=1')]);
    expect(text.code).toBe(0);
    expect(text.stdout).toBe('User-agent: *\nDisallow: /private/\n');

    const json = await vega(['osint', 'robots', '--json', pages.origin]);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual({ url: pages.url('/robots.txt'), found: true, robots: 'User-agent: *\nDisallow: /private/\n' });
  });

  it('whois: RDAP found through the bootstrap file as fields; WHOIS on port 43 as JSON', async () => {
    // The guard stays on: the RDAP server and the registry's WHOIS port are allowed, nothing else.
    const env = {
      RDAP_BOOTSTRAP_URL: rdap.url('/dns.json'),
      WHOIS_SERVER: `127.0.0.1:${ports.iana}`,
      FETCH_ALLOW_HOSTS: `${new URL(rdap.origin).host},127.0.0.1:${ports.registry}`,
    };
    const table = await vega(['osint', 'whois', 'example.test'], { env });
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^domain\s+example\.test$/m);
    expect(table.stdout).toMatch(/^registrar\s+RESERVED-Internet Assigned Numbers Authority$/m);
    expect(table.stdout).toMatch(/^expires\s+2026-08-13T04:00:00Z$/m);
    expect(table.stdout).toMatch(/^name servers\s+a\.iana-servers\.net, b\.iana-servers\.net$/m);
    expect(table.stdout).toContain(`rdap (${rdap.url('/rdap/domain/example.test')})`);

    const json = await vega(['osint', 'whois', 'example.whois', '--json'], { env });
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual({
      domain: 'example.whois',
      source: 'whois',
      registrar: 'Example Registrar, Inc.',
      created: '1995-08-14T04:00:00Z',
      updated: '2025-08-14T07:01:39Z',
      expires: '2026-08-13T04:00:00Z',
      status: ['clientDeleteProhibited', 'clientTransferProhibited'],
      nameservers: ['a.iana-servers.net', 'b.iana-servers.net'],
      server: `whois://127.0.0.1:${ports.registry}`,
      rdap_error: 'no RDAP service for .whois',
    });
    expect(iana.queries.at(-1)).toBe('example.whois');
    expect(registry.queries.at(-1)).toBe('example.whois');
  });

  it('headers: status, redirects, headers and the security summary; a target the guard refuses is exit 2', async () => {
    const result = await vega(['osint', 'headers', pages.url('/moved')]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`url         ${pages.url('/secure')}`);
    expect(result.stdout).toContain('status      200');
    expect(result.stdout).toContain(`redirected  ${pages.url('/moved')}`);
    expect(result.stdout).toMatch(/^x-frame-options\s+DENY$/m);
    expect(result.stdout).toMatch(/^strict-transport-security\s+yes$/m);
    expect(result.stdout).toMatch(/^content-security-policy\s+no$/m);

    const json = await vega(['osint', 'headers', '--json', pages.url('/secure')]);
    expect(JSON.parse(json.stdout).security.missing).toEqual(['content-security-policy', 'x-content-type-options', 'referrer-policy', 'permissions-policy']);

    const refused = await vega(['osint', 'headers', `http://127.0.0.2:${pages.port}/secure`]);
    expect(refused.code).toBe(2);
    expect(oneLine(refused.stderr)).toBe(true);
    expect(refused.stderr).toMatch(/^vega: .*loopback address/);
  });

  it('username: each site by its rule from the local site list; --sites filters; an unknown site is exit 2', async () => {
    const table = await vega(['osint', 'username', 'alice']);
    expect(table.code).toBe(0);
    const rows = lines(table.stdout);
    expect(rows[0]).toMatch(/^SITE\s+FOUND\s+STATUS\s+URL\s+NOTE$/);
    expect(rows.slice(1).map((row) => row.split(/\s{2,}/).slice(0, 3))).toEqual([
      ['StatusSite', 'yes', '200'],
      ['AbsentText', 'yes', '200'],
      ['Redirector', '?', '302'],
    ]);

    const json = await vega(['osint', 'username', 'alice', '--nsfw', '--sites', 'adult,statussite', '--json']);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout).items.map((item: { site: string; exists: boolean }) => [item.site, item.exists])).toEqual([
      ['Adult', true],
      ['StatusSite', true],
    ]);

    const unknown = await vega(['osint', 'username', 'alice', '--sites', 'Nowhere']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^vega: sites: unknown site "Nowhere"; known sites: StatusSite, AbsentText, Redirector, Adult\n$/);
  });
  it('username on a terminal: a progress bar on stderr while probing, then the coloured table', async () => {
    // util-linux `script` gives the process a pseudo-terminal, so stdout and stderr are TTYs.
    const env = {
      VEGA_DATA_DIR: data.dir,
      USERNAME_SITES_FILE: sitesFile,
      FETCH_ALLOW_HOSTS: `127.0.0.1:${pages.port}`,
      LOG_LEVEL: 'fatal',
      SWC_NODE_PROJECT: join(ROOT, 'tsconfig.json'),
    };
    const command = ['env', ...Object.entries(env).map(([name, value]) => `${name}=${value}`), process.execPath, '-r', require.resolve('@swc-node/register'), join(ROOT, 'src/cli.ts'), 'osint', 'username', 'alice'];
    const { stdout } = await promisify(execFile)('script', ['-qfec', command.map((word) => `'${word}'`).join(' '), '/dev/null'], { cwd: ROOT, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', TERM: 'xterm' } });
    expect(stdout).toMatch(/probing 3 sites \[#+-*\] \d+% 1\/3/);
    expect(stdout).toMatch(/probing 3 sites \[#+\] 100% 3\/3/);
    expect(stdout).toMatch(ANSI);
    expect(stdout).toMatch(/StatusSite .*yes/);
  });
});

describe('vega net scan', () => {
  it('scans an allowed host: open and closed ports, ranges expanded, as a table or JSON', async () => {
    const table = await vega(['net', 'scan', '127.0.0.1', '--ports', `${ports.open},${ports.closed}`]);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(new RegExp(`^\\s*${ports.open}  open$`, 'm'));
    expect(table.stdout).toMatch(new RegExp(`^\\s*${ports.closed}  closed$`, 'm'));

    const json = await vega(['net', 'scan', '127.0.0.1', '--ports', `${ports.open - 1}-${ports.open + 1}`, '--timeout', '1', '--json']);
    expect(json.code).toBe(0);
    const body = JSON.parse(json.stdout);
    expect(body).toMatchObject({ host: '127.0.0.1', address: '127.0.0.1' });
    expect(body.results.map((r: { port: number }) => r.port)).toEqual([ports.open - 1, ports.open, ports.open + 1]);
    expect(body.results[1]).toEqual({ port: ports.open, state: 'open' });
  });

  it('refuses a host outside NET_SCAN_ALLOW with exit 1 and the reason, before any connection', async () => {
    const before = other.connections();
    const result = await vega(['net', 'scan', '127.0.0.2', '--ports', String(ports.other)]);
    expect(result.code).toBe(1);
    expect(oneLine(result.stderr)).toBe(true);
    expect(result.stderr).toMatch(/^vega: 127\.0\.0\.2 is not in NET_SCAN_ALLOW/);
    expect(result.stdout).toBe('');
    expect(other.connections()).toBe(before);
  });
});

describe('bad input', () => {
  it.each([
    [['search', 'web', 'x', '--max', '21'], /--max must not be greater than 20/],
    [['search', 'web', 'x', '--max', 'many'], /--max must be a number \(got "many"\)/],
    [['search', 'images', 'x', '--safesearch', 'loose'], /--safesearch must be one of off, moderate, strict/],
    [['search', 'research', 'x', '--max', '11'], /--max must not be greater than 10/],
    [['search', 'web'], /missing required argument/],
    [['search'], /give a command: web, images, research/],
    [['osint', 'dns', 'not a host!'], /HOST must be a valid host name/],
    [['osint', 'reverse-dns', '300.1.1.1'], /IP must be an IPv4 or IPv6 address/],
    [['osint', 'ssl', 'localhost', '--port', '70000'], /--port must not be greater than 65535/],
    [['osint', 'whois', 'localhost'], /DOMAIN must be a valid domain name/],
    [['osint', 'username', 'a/b'], /NAME may only contain letters, digits/],
    [['osint', 'username', 'alice', '--sites', ','], /--sites must contain at least 1 elements/],
    [['osint', 'robots', 'ftp://127.0.0.1/'], /http/],
    [['net', 'scan', '127.0.0.1'], /--ports is required/],
    [['net', 'scan', '127.0.0.1', '--ports', '22,http'], /--ports: "http" is not a port or a range like 8000-8010/],
    [['net', 'scan', '127.0.0.1', '--ports', '90-80'], /the range 90-80 ends before it starts/],
    [['net', 'scan', '127.0.0.1', '--ports', '0,22'], /each value in --ports must be at least 1/],
    [['net', 'scan', '127.0.0.1', '--ports', '1-2000'], /at most 1024 ports/],
    [['net', 'scan', '127.0.0.1', '--ports', '22', '--timeout', '11'], /--timeout must not be greater than 10/],
  ])('%j → exit 2 with one line on stderr', async (args, message) => {
    const result = await vega(args);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(oneLine(result.stderr)).toBe(true);
    expect(result.stdout).toBe('');
  });

  it('--help of each new command lists its options with examples, without booting', async () => {
    for (const command of [['search', 'web'], ['search', 'research'], ['osint', 'username'], ['net', 'scan']]) {
      const help = await vega([...command, '--help']);
      expect(help.code).toBe(0);
      expect(help.stdout).toContain(`vega ${command.join(' ')}`);
      expect(help.stdout).toContain('Examples:');
    }
    const top = await vega(['--help']);
    expect(top.stdout).toMatch(/osint <command>\s+look-ups/);
  });
});
