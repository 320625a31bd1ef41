import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { FakeOllama } from '../support/fake-ollama';
import { openSse } from '../support/sse-client';
import { tempDir } from '../support/test-app';

const API_KEY = 'log-test-key-0123456789abcdef';
const ROOT = join(__dirname, '..', '..');

/** A loopback port that was free a moment ago. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

interface LogLine {
  level: number;
  msg?: string;
  [key: string]: unknown;
}

/**
 * The real entry point (`src/main.ts`) in its own process, as `npm start` runs it: what it
 * prints on stdout is exactly what an operator's log pipeline receives.
 */
class VegaProcess {
  private output = '';
  private errors = '';
  private child?: ChildProcess;
  url = '';

  async start(env: Record<string, string>): Promise<void> {
    const data = tempDir('vega-log-');
    const port = await freePort();
    this.url = `http://127.0.0.1:${port}`;
    this.child = spawn(process.execPath, ['-r', '@swc-node/register', 'src/main.ts'], {
      cwd: ROOT,
      // Only what the test sets: no LOG_LEVEL or API key leaking in from the caller's shell.
      env: { PATH: process.env.PATH ?? '', VEGA_DATA_DIR: data.dir, HOST: '127.0.0.1', PORT: String(port), API_KEY, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.once('exit', () => data.remove());
    this.child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (this.output += chunk));
    this.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (this.errors += chunk));
    const deadline = Date.now() + 15_000;
    for (;;) {
      if (this.exited()) throw new Error(`Vega exited: ${this.errors}${this.output}`);
      if (Date.now() > deadline) throw new Error(`Vega did not start: ${this.errors}${this.output}`);
      if (await fetch(`${this.url}/healthz`).then((res) => res.ok, () => false)) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  private exited(): boolean {
    return this.child!.exitCode !== null || this.child!.signalCode !== null;
  }

  /** Stops the process (graceful shutdown flushes the log) and returns everything it wrote. */
  async stop(): Promise<{ stdout: string; stderr: string; lines: LogLine[] }> {
    const child = this.child;
    if (!child) return { stdout: '', stderr: '', lines: [] };
    if (!this.exited()) {
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    }
    const lines = this.output
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as LogLine);
    return { stdout: this.output, stderr: this.errors, lines };
  }

  request(path: string, init: { method?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<Response> {
    const headers: Record<string, string> = { ...init.headers };
    if (init.body !== undefined) headers['content-type'] = 'application/json';
    return fetch(`${this.url}${path}`, {
      method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
      headers,
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    });
  }
}

describe('request logs (stdout of the real process)', () => {
  const fake = new FakeOllama();
  let vega: VegaProcess;

  beforeAll(() => fake.start());
  afterAll(() => fake.stop());
  beforeEach(() => {
    vega = new VegaProcess();
  });
  afterEach(async () => {
    await vega.stop();
  });

  it('writes one JSON line per request with id, method, route, status and duration, and no secret', async () => {
    await vega.start({ OLLAMA_URL: fake.url, LOG_LEVEL: 'info', HEALTH_PROBE_SECONDS: '60' });
    const asKey = await vega.request('/chat', {
      body: { prompt: 'PROMPT-MARKER mail alice@example.com' },
      headers: { 'x-api-key': API_KEY, 'x-request-id': 'trace-one' },
    });
    expect(asKey.status).toBe(200);
    expect(((await asKey.json()) as { response: string }).response).toContain('PROMPT-MARKER');
    const asBearer = await vega.request('/chat', { body: { prompt: 'BEARER-PROMPT' }, headers: { authorization: `Bearer ${API_KEY}` } });
    expect(asBearer.status).toBe(200);
    const sse = await openSse(`${vega.url}/chat/sse?prompt=QUERY-PROMPT`, { headers: { 'x-api-key': API_KEY, 'x-request-id': 'trace-sse' } });
    await sse.all();
    const wrong = await vega.request('/chat', { body: { prompt: 'x' }, headers: { 'x-api-key': 'WRONG-KEY-MARKER-0123456789' } });
    expect(wrong.status).toBe(401);
    expect((await vega.request('/nope?token=URL-SECRET')).status).toBe(404);

    const { stdout, stderr, lines } = await vega.stop();
    // The start-up poll of /healthz is logged too; look at the requests of the test.
    const requests = lines.filter((line) => line.msg === 'request completed' && line.route !== '/healthz');
    expect(requests).toHaveLength(5);
    for (const line of requests) {
      expect(line).toEqual({
        level: expect.any(Number),
        time: expect.any(String),
        pid: expect.any(Number),
        request_id: expect.any(String),
        method: expect.any(String),
        route: expect.any(String),
        status: expect.any(Number),
        duration_ms: expect.any(Number),
        msg: 'request completed',
      });
    }
    const summary = requests.map(({ request_id, method, route, status, level }) => ({ request_id, method, route, status, level }));
    expect(summary).toEqual([
      { request_id: 'trace-one', method: 'POST', route: '/chat', status: 200, level: 30 },
      { request_id: expect.stringMatching(/^[0-9a-f-]{36}$/), method: 'POST', route: '/chat', status: 200, level: 30 },
      { request_id: 'trace-sse', method: 'GET', route: '/chat/sse', status: 200, level: 30 },
      { request_id: expect.any(String), method: 'POST', route: '/chat', status: 401, level: 40 },
      { request_id: expect.any(String), method: 'GET', route: 'unmatched', status: 404, level: 40 },
    ]);
    for (const secret of [API_KEY, 'WRONG-KEY-MARKER', 'PROMPT-MARKER', 'BEARER-PROMPT', 'QUERY-PROMPT', 'URL-SECRET', 'alice@example.com', 'Echo:']) {
      expect({ secret, found: stdout.includes(secret) || stderr.includes(secret) }).toEqual({ secret, found: false });
    }
  });

  it('logs request bodies only at LOG_LEVEL=debug, PII-masked with PII_MASKING=true, never the key', async () => {
    await vega.start({ OLLAMA_URL: fake.url, LOG_LEVEL: 'debug', PII_MASKING: 'true', HEALTH_PROBE_SECONDS: '60' });
    const res = await vega.request('/chat', {
      body: { prompt: 'DEBUG-PROMPT write to alice@example.com' },
      headers: { 'x-api-key': API_KEY, 'x-request-id': 'trace-debug' },
    });
    expect(res.status).toBe(200);
    const { stdout, lines } = await vega.stop();
    const input = lines.find((line) => line.msg === 'request input' && line.request_id === 'trace-debug');
    expect(input?.body).toBe('{"prompt":"DEBUG-PROMPT write to [EMAIL]"}');
    expect(lines.filter((line) => line.msg === 'request completed' && line.request_id === 'trace-debug')).toHaveLength(1);
    expect(stdout).not.toContain('alice@example.com');
    expect(stdout).not.toContain(API_KEY);
  });

  it('never writes a key sent in a query parameter, a header or a body field, even at LOG_LEVEL=debug', async () => {
    await vega.start({ OLLAMA_URL: fake.url, LOG_LEVEL: 'debug', HEALTH_PROBE_SECONDS: '60' });
    const asKey = { 'x-api-key': API_KEY };
    // Key-like names the server does not know: the debug line logs the query and the body.
    const sse = await openSse(`${vega.url}/chat/sse?prompt=hello&api_key=SECRET-QUERY-1&Access_Token=SECRET-QUERY-2`, { headers: asKey });
    await sse.all();
    await vega.request('/history?key=SECRET-QUERY-3&client_secret=SECRET-QUERY-4&refreshToken=SECRET-QUERY-5', { headers: asKey });
    await vega.request('/nope?token=SECRET-QUERY-6', { headers: { ...asKey, 'x-upstream-token': 'SECRET-HEADER-1' } });
    await vega.request('/chat', { body: { prompt: 'x', api_key: 'SECRET-BODY-1', nested: { x_secret: 'SECRET-BODY-2' } }, headers: asKey });
    expect((await vega.request('/chat', { body: { prompt: 'x' }, headers: { authorization: 'Bearer SECRET-HEADER-2' } })).status).toBe(401);
    expect((await vega.request('/chat', { body: { prompt: 'x' }, headers: { 'X-API-KEY': 'SECRET-HEADER-3-0123456789' } })).status).toBe(401);

    const { stdout, stderr, lines } = await vega.stop();
    // The debug lines were written, with the key-like values censored and the rest intact.
    const inputs = lines.filter((line) => line.msg === 'request input').map((line) => `${line.query ?? ''} ${line.body ?? ''}`);
    expect(inputs).toEqual(
      expect.arrayContaining([
        expect.stringContaining('"prompt":"hello","api_key":"[REDACTED]","Access_Token":"[REDACTED]"'),
        expect.stringContaining('"key":"[REDACTED]","client_secret":"[REDACTED]","refreshToken":"[REDACTED]"'),
        expect.stringContaining('"token":"[REDACTED]"'),
        expect.stringContaining('"api_key":"[REDACTED]","nested":{"x_secret":"[REDACTED]"}'),
      ]),
    );
    for (const secret of [API_KEY, 'SECRET-QUERY', 'SECRET-HEADER', 'SECRET-BODY']) {
      expect({ secret, found: stdout.includes(secret) || stderr.includes(secret) }).toEqual({ secret, found: false });
    }
  });

  it('stays silent at LOG_LEVEL=fatal', async () => {
    await vega.start({ OLLAMA_URL: fake.url, LOG_LEVEL: 'fatal', HEALTH_PROBE_SECONDS: '60' });
    expect((await vega.request('/healthz')).status).toBe(200);
    const { stdout } = await vega.stop();
    expect(stdout).toBe('');
  });
});
