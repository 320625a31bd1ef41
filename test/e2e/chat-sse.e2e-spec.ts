import { openSse, runEventSource, SseEvent } from '../support/sse-client';
import { queryDb } from '../support/sqlite';
import { TEST_API_KEY, TestApp, useAppWithFakeOllama } from '../support/test-app';

const auth = { 'x-api-key': TEST_API_KEY };

describe('SSE chat streams', () => {
  const env = useAppWithFakeOllama(['mistral']);
  const fake = env.fake;
  let t: TestApp;

  const start = async (vars: Record<string, string> = {}) => {
    t = await env.start(vars);
    return t;
  };
  const rows = () =>
    queryDb<{ status: string; response: string; prompt: string }>(t.dbPath, 'SELECT status, response, prompt FROM conversations ORDER BY id');
  const tokens = (events: SseEvent[]) =>
    events.filter((e) => e.event === 'token').map((e) => (JSON.parse(e.data) as { text: string }).text);

  const expectCompleteStream = async (open: () => ReturnType<typeof openSse>, prompt: string) => {
    // Tokens 20 ms apart, as a model produces them: each reaches the client on its own.
    fake.enqueue({ kind: 'slow', delayMs: 20 });
    const sse = await open();
    expect(sse.status).toBe(200);
    expect(sse.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(sse.headers['cache-control']).toBe('no-cache');
    expect(sse.headers['x-accel-buffering']).toBe('no');
    const events = await sse.all();
    expect(sse.raw().startsWith(': ok\n\n')).toBe(true);
    expect(tokens(events).join('')).toBe(`Echo: ${prompt}`);
    expect(tokens(events).length).toBeGreaterThan(1);
    const done = events.at(-1)!;
    expect(done.event).toBe('done');
    expect(JSON.parse(done.data)).toEqual({
      conversation_id: expect.any(Number),
      session_id: expect.stringMatching(/^[A-Za-z0-9_-]+$/),
      model: 'mistral',
      cached: false,
      usage: { prompt_tokens: expect.any(Number), completion_tokens: expect.any(Number) },
    });
    return events;
  };

  it('POST /chat/sse streams a token event per chunk as it arrives, then done', async () => {
    await start();
    await expectCompleteStream(() => openSse(`${t.url}/chat/sse`, { headers: auth, body: { prompt: 'stream me please' } }), 'stream me please');
    expect(await rows()).toEqual([{ status: 'ok', response: 'Echo: stream me please', prompt: 'stream me please' }]);
  });

  it('GET /chat/sse takes the prompt and session from the query string', async () => {
    await start();
    const url = `${t.url}/chat/sse?prompt=${encodeURIComponent('from a query')}&session_id=q1`;
    const events = await expectCompleteStream(() => openSse(url, { headers: auth }), 'from a query');
    expect(JSON.parse(events.at(-1)!.data).session_id).toBe('q1');
  });

  it('POST /chat with stream: true returns the same stream', async () => {
    await start();
    await expectCompleteStream(() => openSse(`${t.url}/chat`, { headers: auth, body: { prompt: 'via chat', stream: true } }), 'via chat');
  });

  it('sends the lines that arrived together as one token event', async () => {
    await start();
    const events = await (await openSse(`${t.url}/chat/sse`, { headers: auth, body: { prompt: 'all at once' } })).all();
    expect(tokens(events)).toEqual(['Echo: all at once']);
    expect(events.at(-1)!.event).toBe('done');
  });

  it('keeps newlines and quotes inside token data (JSON-encoded)', async () => {
    await start();
    fake.enqueue({ kind: 'reply', text: 'line one\nline "two"\n\nend' });
    const events = await (await openSse(`${t.url}/chat/sse`, { headers: auth, body: { prompt: 'x' } })).all();
    expect(tokens(events).join('')).toBe('line one\nline "two"\n\nend');
  });

  it('streams a cached answer and marks it cached', async () => {
    await start();
    await (await openSse(`${t.url}/chat/sse`, { headers: auth, body: { prompt: 'again' } })).all();
    const events = await (await openSse(`${t.url}/chat/sse`, { headers: auth, body: { prompt: 'again' } })).all();
    expect(tokens(events).join('')).toBe('Echo: again');
    expect(JSON.parse(events.at(-1)!.data).cached).toBe(true);
    expect(fake.chatRequests()).toHaveLength(1);
    expect((await rows()).map((r) => r.status)).toEqual(['ok', 'cached']);
  });

  it('sends heartbeat comments while waiting for the model', async () => {
    await start({ SSE_HEARTBEAT_SECONDS: '0.1' });
    fake.enqueue({ kind: 'delay_first', delayMs: 450 });
    const sse = await openSse(`${t.url}/chat/sse`, { headers: auth, body: { prompt: 'wait' } });
    await sse.all();
    expect(sse.comments[0]).toBe('ok');
    expect(sse.comments.filter((c) => c === 'heartbeat').length).toBeGreaterThanOrEqual(2);
  });

  it('reports a failure after the stream started as an error event, and stores the partial answer', async () => {
    await start();
    fake.enqueue({ kind: 'error_line', afterChunks: 2, message: 'model crashed' });
    const events = await (await openSse(`${t.url}/chat/sse`, { headers: auth, body: { prompt: 'a b c d e' } })).all();
    expect(tokens(events).join('')).toBe('Echo: a');
    const error = events.at(-1)!;
    expect(error.event).toBe('error');
    expect(JSON.parse(error.data)).toEqual({ message: 'Ollama error: model crashed', status: 502 });
    expect(await rows()).toEqual([{ status: 'error', response: 'Echo: a', prompt: 'a b c d e' }]);
  });

  it('reports a timeout as an error event with status 504', async () => {
    await start({ LLM_FIRST_TOKEN_TIMEOUT_SEC: '0.2' });
    fake.enqueue({ kind: 'hang' });
    const events = await (await openSse(`${t.url}/chat/sse`, { headers: auth, body: { prompt: 'x' } })).all();
    expect(events).toEqual([
      { event: 'error', data: JSON.stringify({ message: 'The model sent no token within 0.2 s', status: 504 }), id: expect.stringMatching(/:1:error$/) },
    ]);
  });

  it('cancels the upstream request at once when the client disconnects, and stores the partial answer as aborted', async () => {
    await start();
    fake.enqueue({ kind: 'slow', delayMs: 150 });
    const sse = await openSse(`${t.url}/chat/sse`, { headers: auth, body: { prompt: 'one two three four five six seven eight' } });
    const received: string[] = [];
    for await (const event of sse.events) {
      received.push(JSON.parse(event.data).text);
      if (received.length === 2) break;
    }
    const closedAt = Date.now();
    sse.close();
    await fake.waitForAbort(0, 2000);
    expect(Date.now() - closedAt).toBeLessThan(300);
    await waitFor(async () => (await rows()).length === 1);
    const [row] = await rows();
    expect(row.status).toBe('aborted');
    expect(row.response.startsWith(received.join(''))).toBe(true);
    expect(row.response.length).toBeLessThan('Echo: one two three four five six seven eight'.length);
  });

  it('stores an aborted exchange when the client leaves before the first token', async () => {
    await start();
    fake.enqueue({ kind: 'hang' });
    const sse = await openSse(`${t.url}/chat/sse`, { headers: auth, body: { prompt: 'never answered' } });
    await fake.waitForRequests(1);
    sse.close();
    await fake.waitForAbort(0, 2000);
    await waitFor(async () => (await rows()).length === 1);
    expect(await rows()).toEqual([{ status: 'aborted', response: '', prompt: 'never answered' }]);
  });

  it('cancels upstream and stores aborted when a non-streaming client disconnects', async () => {
    await start();
    fake.enqueue({ kind: 'slow', delayMs: 200 });
    const controller = new AbortController();
    const res = fetch(`${t.url}/chat`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'to be abandoned' }),
      signal: controller.signal,
    }).catch(() => undefined);
    await fake.waitForRequests(1);
    controller.abort();
    await res;
    await fake.waitForAbort(0, 2000);
    await waitFor(async () => (await rows()).length === 1);
    expect((await rows())[0]).toMatchObject({ prompt: 'to be abandoned', status: 'aborted' });
  });

  describe('EventSource reconnects', () => {
    const ID = /^[0-9a-f]{16}:(\d+)$/;

    it('numbers every event of a stream, marks the final one, and answers the reconnect after done with 204: one run, one row', async () => {
      await start();
      const run = await runEventSource(`${t.url}/chat/sse?prompt=${encodeURIComponent('a b c')}`, { headers: auth });
      expect(run.statuses).toEqual([200, 204]);
      expect(run.stopped).toBe(true);
      const stream = run.events[0].id!.split(':')[0];
      const seqs = run.events.slice(0, -1).map((event) => {
        expect(event.event).toBe('token');
        expect(event.id).toMatch(ID);
        expect(event.id!.startsWith(`${stream}:`)).toBe(true);
        return Number(ID.exec(event.id!)![1]);
      });
      expect(seqs).toEqual(seqs.map((_, index) => index + 1));
      const done = run.events.at(-1)!;
      expect(done.event).toBe('done');
      expect(done.id).toBe(`${stream}:${seqs.length + 1}:done`);
      expect(run.sentIds).toEqual(['', done.id]);
      expect(fake.chatRequests()).toHaveLength(1);
      expect((await rows()).map((row) => row.status)).toEqual(['ok']);
    });

    it('answers the reconnect after an error event with 204: the failing prompt is not run again', async () => {
      await start({ LLM_MAX_RETRIES: '0' });
      fake.enqueue({ kind: 'status', status: 500, message: 'boom' });
      const run = await runEventSource(`${t.url}/chat/sse?prompt=fails`, { headers: auth });
      expect(run.statuses).toEqual([200, 204]);
      expect(run.events.map((event) => event.event)).toEqual(['error']);
      expect(run.events[0].id).toMatch(/^[0-9a-f]{16}:1:error$/);
      expect(fake.chatRequests()).toHaveLength(1);
      expect((await rows()).map((row) => row.status)).toEqual(['error']);
    });

    it('answers 204 to a reconnect after a dropped stream too (that exchange was stored as aborted), on every stream route', async () => {
      await start();
      fake.enqueue({ kind: 'slow', delayMs: 50 });
      const sse = await openSse(`${t.url}/chat/sse`, { headers: auth, body: { prompt: 'one two three four' } });
      let lastId = '';
      for await (const event of sse.events) {
        lastId = event.id!;
        break;
      }
      sse.close();
      expect(lastId).toMatch(ID);
      const again = { ...auth, 'last-event-id': lastId };
      expect((await openSse(`${t.url}/chat/sse?prompt=x`, { headers: again })).status).toBe(204);
      expect((await openSse(`${t.url}/chat/sse`, { headers: again, body: { prompt: 'x' } })).status).toBe(204);
      expect((await openSse(`${t.url}/chat`, { headers: again, body: { prompt: 'x', stream: true } })).status).toBe(204);
      await fake.waitForAbort(0);
      expect(fake.chatRequests()).toHaveLength(1);
    });

    it('ignores a Last-Event-ID that no chat stream sent', async () => {
      await start();
      const sse = await openSse(`${t.url}/chat/sse?prompt=hi`, { headers: { ...auth, 'last-event-id': '42' } });
      expect(sse.status).toBe(200);
      expect((await sse.all()).at(-1)!.event).toBe('done');
    });
  });

  it('refuses with a plain HTTP status, not a stream, what can be checked up front', async () => {
    await start({ MAX_PROMPT_CHARS: '5' });
    const tooBig = await openSse(`${t.url}/chat/sse`, { headers: auth, body: { prompt: 'too long' } });
    expect(tooBig.status).toBe(413);
    const noKey = await openSse(`${t.url}/chat/sse`, { body: { prompt: 'x' } });
    expect(noKey.status).toBe(401);
    const invalid = await openSse(`${t.url}/chat/sse?session_id=x`, { headers: auth });
    expect(invalid.status).toBe(400);
    expect(JSON.parse(invalid.raw()).message).toMatch(/prompt/);
  });

  it('refuses with 503 before streaming while the breaker is open', async () => {
    await start({ BREAKER_FAIL_THRESHOLD: '1', LLM_MAX_RETRIES: '0' });
    fake.enqueue({ kind: 'status', status: 500 });
    await (await openSse(`${t.url}/chat/sse`, { headers: auth, body: { prompt: 'x' } })).all();
    const refused = await openSse(`${t.url}/chat/sse`, { headers: auth, body: { prompt: 'y' } });
    expect(refused.status).toBe(503);
    expect(refused.headers['retry-after']).toBeDefined();
  });
});

async function waitFor(check: () => Promise<boolean>, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
