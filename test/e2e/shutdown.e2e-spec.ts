import { existsSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { FakeOllama } from '../support/fake-ollama';
import { openSse } from '../support/sse-client';
import { queryDb } from '../support/sqlite';
import { VegaProcess } from '../support/vega-process';

// Real processes on two shared cores: generous limits, every wait bounded.
jest.setTimeout(90_000);

interface Row {
  prompt: string;
  response: string;
  status: string;
}

const LONG_REPLY = Array.from({ length: 200 }, (_, i) => `w${i}`).join(' ');

/** POST /chat on its own connection, resolving with the status and body, or the socket error. */
function postChat(vega: VegaProcess, prompt: string): Promise<{ status: number; body: string } | { error: string }> {
  return new Promise((resolve) => {
    const body = JSON.stringify({ prompt });
    const req = httpRequest(
      `${vega.url}/chat`,
      {
        method: 'POST',
        agent: false,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-api-key': vega.apiKey },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        res.on('error', (error) => resolve({ error: error.message }));
      },
    );
    req.on('error', (error) => resolve({ error: error.message }));
    req.end(body);
  });
}

describe('graceful shutdown (SIGTERM/SIGINT to the real process)', () => {
  const fake = new FakeOllama({ reply: () => LONG_REPLY });
  let vega: VegaProcess;

  beforeAll(() => fake.start());
  afterAll(() => fake.stop());
  beforeEach(() => {
    vega = new VegaProcess();
  });
  afterEach(async () => {
    await vega.dispose();
    fake.reset();
  });

  const start = (env: Record<string, string> = {}) =>
    vega.start({ OLLAMA_URL: fake.url, LOG_LEVEL: 'info', HEALTH_PROBE_SECONDS: '60', CACHE_TTL_SECONDS: '0', ...env });

  it('ends an open stream with event: error, stores it as aborted, cancels upstream, closes the database and exits 0', async () => {
    await start();
    fake.enqueue({ kind: 'slow', delayMs: 100 });
    const sse = await openSse(`${vega.url}/chat/sse`, { body: { prompt: 'stream until shutdown' }, headers: { 'x-api-key': vega.apiKey } });
    expect(sse.status).toBe(200);
    let tokens = 0;
    for await (const event of sse.events) {
      if (event.event === 'token') tokens += 1;
      if (tokens === 3) break;
    }
    expect(existsSync(`${vega.dbPath}-wal`)).toBe(true); // WAL mode: the log exists while Vega runs
    vega.signal('SIGTERM');

    const events = await sse.all();
    const last = events[events.length - 1];
    expect(last.event).toBe('error');
    expect(JSON.parse(last.data)).toEqual({ message: 'server shutting down', status: 503 });
    expect(events.some((event) => event.event === 'done')).toBe(false);
    expect(await vega.exited()).toEqual({ code: 0, signal: null });
    // A clean close checkpoints the write-ahead log into the database and deletes it (checked
    // before this test opens the file itself).
    expect(existsSync(`${vega.dbPath}-wal`)).toBe(false);
    await fake.waitForAbort(0, 10_000);

    const rows = await queryDb<Row>(vega.dbPath, 'SELECT prompt, response, status FROM conversations');
    expect(rows).toHaveLength(1);
    expect(rows[0].status).toBe('aborted');
    expect(rows[0].prompt).toBe('stream until shutdown');
    expect(rows[0].response).toMatch(/^w0 w1 w2/);
    expect(rows[0].response.length).toBeLessThan(LONG_REPLY.length);
    const messages = vega.logLines().map((line) => line.msg);
    expect(messages).toEqual(expect.arrayContaining([expect.stringMatching(/^Received SIGTERM: shutting down/), 'Shutdown complete']));
  });

  it('lets a non-stream request finish, refuses new connections meanwhile, and exits 0', async () => {
    await start();
    fake.enqueue({ kind: 'slow', delayMs: 10 });
    const pending = postChat(vega, 'finish me');
    await fake.waitForRequests(1, 10_000);
    vega.signal('SIGTERM');
    // The listening socket closes at once; the request in flight goes on.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const refused = await fetch(`${vega.url}/healthz`).then(
      (res) => `status ${res.status}`,
      () => 'refused',
    );
    expect(refused).toBe('refused');
    const answer = await pending;
    expect(answer).toEqual({ status: 200, body: expect.any(String) });
    expect(JSON.parse((answer as { body: string }).body).response).toBe(LONG_REPLY);
    expect(await vega.exited()).toEqual({ code: 0, signal: null });
    const rows = await queryDb<Row>(vega.dbPath, 'SELECT status FROM conversations');
    expect(rows).toEqual([{ status: 'ok' }]);
  });

  it('cuts requests still running after SHUTDOWN_GRACE_SEC, cancelling them upstream and storing them as aborted', async () => {
    await start({ SHUTDOWN_GRACE_SEC: '0.5', LLM_FIRST_TOKEN_TIMEOUT_SEC: '60', LLM_TIMEOUT_SEC: '60' });
    fake.enqueue({ kind: 'hang' });
    const pending = postChat(vega, 'never answered');
    await fake.waitForRequests(1, 10_000);
    const signalledAt = Date.now();
    vega.signal('SIGTERM');
    expect(await vega.exited()).toEqual({ code: 0, signal: null });
    expect(existsSync(`${vega.dbPath}-wal`)).toBe(false);
    expect(Date.now() - signalledAt).toBeLessThan(15_000);
    expect(await pending).toEqual({ error: expect.any(String) });
    await fake.waitForAbort(0, 10_000);
    const rows = await queryDb<Row>(vega.dbPath, 'SELECT prompt, status FROM conversations');
    expect(rows).toEqual([{ prompt: 'never answered', status: 'aborted' }]);
  });

  it('exits 0 on SIGINT too', async () => {
    await start();
    expect((await fetch(`${vega.url}/healthz`)).status).toBe(200);
    vega.signal('SIGINT');
    expect(await vega.exited()).toEqual({ code: 0, signal: null });
  });
});
