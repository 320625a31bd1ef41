import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent, request, type Dispatcher } from 'undici';
import { DEFAULT_ERROR_LINE_MESSAGE, FakeOllama, scriptedReply, type FakeOllamaOptions } from '../support/fake-ollama';
import { openSse, SseParser, type SseEvent } from '../support/sse-client';

type Body = Dispatcher.ResponseData['body'];

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
const METRICS = ['total_duration', 'load_duration', 'prompt_eval_count', 'prompt_eval_duration', 'eval_count', 'eval_duration'];
const HELLO = { model: 'mistral', messages: [{ role: 'user', content: 'hi there' }] };

let agent: Agent;
let fake: FakeOllama;

beforeAll(() => {
  agent = new Agent();
});

afterAll(async () => {
  await agent.close();
});

afterEach(async () => {
  await fake?.stop();
});

async function startFake(opts?: FakeOllamaOptions): Promise<FakeOllama> {
  fake = new FakeOllama(opts);
  await fake.start();
  return fake;
}

function post(path: string, body: unknown, extra: Partial<Dispatcher.RequestOptions> = {}): Promise<Dispatcher.ResponseData> {
  return request(`${fake.url}${path}`, {
    method: 'POST',
    dispatcher: agent,
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    ...extra,
  });
}

function get(path: string, method: 'GET' | 'HEAD' = 'GET'): Promise<Dispatcher.ResponseData> {
  return request(`${fake.url}${path}`, { method, dispatcher: agent });
}

/** NDJSON lines; every line, including the last, must end with '\n'. */
function lines(text: string): string[] {
  expect(text.endsWith('\n')).toBe(true);
  return text.slice(0, -1).split('\n');
}

async function ndjson(res: Dispatcher.ResponseData): Promise<any[]> {
  expect(res.headers['content-type']).toBe('application/x-ndjson');
  return lines(await res.body.text()).map((line) => JSON.parse(line));
}

function contentOf(chunks: any[]): string {
  return chunks.map((c) => c.message?.content ?? '').join('');
}

/** Reads until the body reaches its end or fails, keeping whatever arrived before a failure. */
async function readToFailure(body: Body): Promise<{ text: string; error: unknown }> {
  const decoder = new TextDecoder();
  let text = '';
  try {
    for await (const chunk of body) text += decoder.decode(chunk as Buffer, { stream: true });
  } catch (error) {
    return { text, error };
  }
  return { text, error: undefined };
}

/** Reads until no byte arrives for idleMs (undici's own bodyTimeout only fires at ~1 s granularity). */
async function readUntilIdle(body: Body, idleMs: number): Promise<string> {
  const decoder = new TextDecoder();
  const reader = body[Symbol.asyncIterator]();
  let text = '';
  for (;;) {
    const next = reader.next();
    let timer: NodeJS.Timeout | undefined;
    const idle = new Promise<'idle'>((resolve) => {
      timer = setTimeout(() => resolve('idle'), idleMs);
    });
    const winner = await Promise.race([next, idle]);
    clearTimeout(timer);
    if (winner === 'idle') {
      // The pending read fails once the caller aborts the request; that is expected.
      next.catch(() => undefined);
      return text;
    }
    if (winner.done) throw new Error(`stream ended instead of going idle after ${JSON.stringify(text)}`);
    text += decoder.decode(winner.value as Buffer, { stream: true });
  }
}

function expectFinalChunk(chunk: any): void {
  expect(chunk).toMatchObject({ model: 'mistral', message: { role: 'assistant', content: '' }, done: true, done_reason: 'stop' });
  expect(chunk.created_at).toMatch(RFC3339);
  for (const key of METRICS) {
    expect(Number.isInteger(chunk[key])).toBe(true);
    expect(chunk[key]).toBeGreaterThan(0);
  }
  expect(chunk.total_duration).toBeGreaterThanOrEqual(chunk.load_duration + chunk.prompt_eval_duration + chunk.eval_duration);
}

describe(FakeOllama.name, () => {
  describe('POST /api/chat', () => {
    it('streams NDJSON by default, one word per line, ending with a metrics chunk', async () => {
      await startFake();
      const chunks = await ndjson(await post('/api/chat', HELLO));

      const content = chunks.slice(0, -1);
      expect(content.map((c) => c.message.content)).toEqual(['Echo:', ' hi', ' there']);
      for (const chunk of content) {
        expect(chunk).toMatchObject({ model: 'mistral', message: { role: 'assistant' }, done: false });
        expect(chunk.created_at).toMatch(RFC3339);
      }
      const final = chunks.at(-1);
      expectFinalChunk(final);
      expect(final).toMatchObject({ prompt_eval_count: 2, eval_count: 3 });
    });

    it('streams when stream is true and answers one JSON object when stream is false', async () => {
      await startFake();
      expect(contentOf(await ndjson(await post('/api/chat', { ...HELLO, stream: true })))).toBe('Echo: hi there');

      const res = await post('/api/chat', { ...HELLO, stream: false });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      const body = (await res.body.json()) as any;
      expect(body).toMatchObject({ message: { role: 'assistant', content: 'Echo: hi there' }, done: true, done_reason: 'stop' });
      expectFinalChunk({ ...body, message: { ...body.message, content: '' } });
    });

    it('splits on code points when chunkSize is a number, and passes the request to opts.reply', async () => {
      const reply = jest.fn(() => 'a😀b🎉');
      await startFake({ chunkSize: 1, reply });
      const chunks = await ndjson(await post('/api/chat', HELLO));

      expect(chunks.slice(0, -1).map((c) => c.message.content)).toEqual(['a', '😀', 'b', '🎉']);
      expect(contentOf(chunks)).toBe('a😀b🎉');
      expect(reply).toHaveBeenCalledWith(expect.objectContaining(HELLO));
    });

    it('answers by system prompt and user message with scriptedReply, on the same wire format', async () => {
      await startFake({
        reply: scriptedReply([
          { system: 'terse', user: /capital/, reply: 'Paris' },
          { system: /pirate/i, reply: (req) => `Arr, ${req.messages!.length} messages` },
        ]),
      });
      const ask = async (messages: { role: string; content: string }[]) => contentOf(await ndjson(await post('/api/chat', { model: 'mistral', messages })));
      const user = { role: 'user', content: 'the capital of France?' };
      expect(await ask([{ role: 'system', content: 'Be terse.' }, user])).toBe('Paris');
      expect(await ask([{ role: 'system', content: 'A PIRATE you are.' }, user])).toBe('Arr, 2 messages');
      // No system message: a system rule never matches, the usual echo answers.
      expect(await ask([user])).toBe('Echo: the capital of France?');
      const whole = await post('/api/chat', { model: 'mistral', messages: [{ role: 'system', content: 'terse' }, user], stream: false });
      expect(((await whole.body.json()) as any).message).toEqual({ role: 'assistant', content: 'Paris' });
    });

    it('matches model names with and without the :latest tag', async () => {
      await startFake({ models: ['mistral', 'llama3.2:3b'] });
      const status = async (model: string) => (await post('/api/chat', { ...HELLO, model, stream: false })).statusCode;
      expect(await status('mistral:latest')).toBe(200);
      expect(await status('llama3.2:3b')).toBe(200);
      expect(await status('llama3.2')).toBe(404);
    });

    it.each([
      ['an unknown model', { ...HELLO, model: 'nope' }, 404, 'model "nope" not found, try pulling it first'],
      ['a missing model', { messages: HELLO.messages }, 400, 'model is required'],
      ['an empty body', '', 400, 'missing request body'],
    ])('rejects %s with an Ollama error body', async (_case, body, status, message) => {
      await startFake();
      const res = await post('/api/chat', body);
      expect(res.statusCode).toBe(status);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(await res.body.json()).toEqual({ error: message });
    });

    it('rejects invalid JSON with a Go-style decoder message', async () => {
      await startFake();
      const res = await post('/api/chat', '{not json');
      expect(res.statusCode).toBe(400);
      expect(((await res.body.json()) as any).error).toMatch(/^invalid character /);
    });

    it('answers an empty message list by loading the model', async () => {
      await startFake();
      const res = await post('/api/chat', { model: 'mistral', messages: [] });
      expect(await res.body.json()).toMatchObject({ done: true, done_reason: 'load', message: { content: '' } });
    });

    it('records requests, with completion, unless recording is off', async () => {
      await startFake();
      await (await post('/api/chat', HELLO)).body.text();
      await fake.waitForRequests(1);
      await (await get('/api/version')).body.text();

      expect(fake.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['POST /api/chat', 'GET /api/version']);
      expect(fake.chatRequests()[0]).toMatchObject({ body: HELLO, completed: true, aborted: false });
      expect(fake.chatRequests()[0]?.headers['content-type']).toBe('application/json');
      fake.reset();
      expect(fake.requests).toEqual([]);

      await fake.stop();
      await startFake({ record: false });
      await (await post('/api/chat', HELLO)).body.text();
      expect(fake.requests).toEqual([]);
      await expect(fake.waitForRequests(1)).rejects.toThrow(/recording is disabled/);
    });
  });

  describe('faults', () => {
    it('replies with a status fault once each, in FIFO order, then falls back to normal', async () => {
      await startFake();
      fake.enqueue({ kind: 'status', status: 503 }, { kind: 'status', status: 500, message: 'boom' });

      const busy = await post('/api/chat', HELLO);
      expect(busy.statusCode).toBe(503);
      expect(await busy.body.json()).toEqual({ error: 'server busy, please try again.  maximum pending requests exceeded' });
      const broken = await post('/api/chat', HELLO);
      expect(broken.statusCode).toBe(500);
      expect(await broken.body.json()).toEqual({ error: 'boom' });
      expect(contentOf(await ndjson(await post('/api/chat', HELLO)))).toBe('Echo: hi there');
    });

    it('applies the default fault whenever the queue is empty, and only to /api/chat', async () => {
      await startFake();
      fake.setDefaultFault({ kind: 'status', status: 429 });
      fake.enqueue({ kind: 'reply', text: 'queued first' });

      expect(contentOf(await ndjson(await post('/api/chat', HELLO)))).toBe('queued first');
      const limited = await post('/api/chat', HELLO);
      expect(limited.statusCode).toBe(429);
      expect(await limited.body.json()).toEqual({ error: 'rate limited' });
      expect((await get('/api/version')).statusCode).toBe(200);

      fake.setDefaultFault(null);
      expect((await post('/api/chat', { ...HELLO, stream: false })).statusCode).toBe(200);
    });

    it('reply: answers the exact text with the given token counts', async () => {
      await startFake();
      fake.enqueue({ kind: 'reply', text: 'Hello,\n world ', promptEvalCount: 42, evalCount: 7 });
      const chunks = await ndjson(await post('/api/chat', HELLO));

      expect(contentOf(chunks)).toBe('Hello,\n world ');
      expect(chunks.at(-1)).toMatchObject({ prompt_eval_count: 42, eval_count: 7 });
    });

    it('hang: sends nothing and records the abort when the client gives up', async () => {
      await startFake();
      fake.enqueue({ kind: 'hang' });
      const controller = new AbortController();
      const pending = post('/api/chat', HELLO, { signal: controller.signal });
      await fake.waitForRequests(1);
      expect(fake.inFlight()).toBe(1);

      controller.abort();
      await expect(pending).rejects.toThrow(/aborted/);
      await expect(fake.waitForAbort(0)).resolves.toMatchObject({ aborted: true, completed: false });
      expect(fake.inFlight()).toBe(0);
    });

    it('hang_after_headers: sends 200 and headers, then no body', async () => {
      await startFake();
      fake.enqueue({ kind: 'hang_after_headers' });
      const controller = new AbortController();
      const res = await post('/api/chat', HELLO, { signal: controller.signal });

      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toBe('application/x-ndjson');
      expect(await readUntilIdle(res.body, 100)).toBe('');
      controller.abort();
      await fake.waitForAbort(0);
    });

    it('stall_after: sends N chunks then goes silent', async () => {
      await startFake();
      fake.enqueue({ kind: 'stall_after', afterChunks: 2 });
      const controller = new AbortController();
      const res = await post('/api/chat', HELLO, { signal: controller.signal });

      const received = lines(await readUntilIdle(res.body, 150)).map((line) => JSON.parse(line));
      expect(contentOf(received)).toBe('Echo: hi');
      controller.abort();
      await fake.waitForAbort(0);
    });

    it('drop: sends N chunks then destroys the socket', async () => {
      await startFake();
      fake.enqueue({ kind: 'drop', afterChunks: 1 });
      const res = await post('/api/chat', HELLO);

      expect(res.statusCode).toBe(200);
      const { text, error } = await readToFailure(res.body);
      expect(error).toMatchObject({ code: 'UND_ERR_SOCKET' });
      expect(lines(text).map((line) => JSON.parse(line).message.content)).toEqual(['Echo:']);
    });

    it('close_before_answer: reads the request, then closes the connection without a status line', async () => {
      await startFake();
      fake.enqueue({ kind: 'close_before_answer' });
      await expect(post('/api/chat', HELLO)).rejects.toMatchObject({ code: 'UND_ERR_SOCKET' });
    });

    it('close_after_headers: sends 200 and its headers, then closes the connection', async () => {
      await startFake();
      fake.enqueue({ kind: 'close_after_headers' });
      const res = await post('/api/chat', HELLO);
      expect(res.statusCode).toBe(200);
      const { text, error } = await readToFailure(res.body);
      expect(text).toBe('');
      expect(error).toMatchObject({ code: 'UND_ERR_SOCKET' });
    });

    it('huge_line: streams one line of the given size without a newline, then goes silent', async () => {
      await startFake();
      fake.enqueue({ kind: 'huge_line', bytes: 300_000 });
      const controller = new AbortController();
      const res = await post('/api/chat', HELLO, { signal: controller.signal });
      const text = await readUntilIdle(res.body, 300);
      expect(text).toHaveLength(300_000);
      expect(text.startsWith('{"model":"mistral"')).toBe(true);
      expect(text.includes('\n')).toBe(false);
      controller.abort();
      await fake.waitForAbort(0);
    });

    it('malformed: sends N chunks, then a line that is not JSON, then ends', async () => {
      await startFake();
      fake.enqueue({ kind: 'malformed', afterChunks: 1 });
      const res = await post('/api/chat', HELLO);
      const [good, bad, ...rest] = lines(await res.body.text());

      expect(JSON.parse(good ?? '')).toMatchObject({ message: { content: 'Echo:' }, done: false });
      expect(() => JSON.parse(bad ?? '')).toThrow(SyntaxError);
      expect(rest).toEqual([]);
    });

    it('error_line: keeps HTTP 200 and ends with an error line instead of done', async () => {
      await startFake();
      fake.enqueue({ kind: 'error_line', afterChunks: 2, message: 'CUDA error: out of memory' }, { kind: 'error_line', afterChunks: 0 });

      const res = await post('/api/chat', HELLO);
      expect(res.statusCode).toBe(200);
      const chunks = await ndjson(res);
      expect(chunks).toHaveLength(3);
      expect(chunks.at(-1)).toEqual({ error: 'CUDA error: out of memory' });
      expect(chunks.some((c) => c.done === true)).toBe(false);

      expect(await ndjson(await post('/api/chat', HELLO))).toEqual([{ error: DEFAULT_ERROR_LINE_MESSAGE }]);
    });

    it('error_line without streaming becomes a 500, as Ollama does', async () => {
      await startFake();
      fake.enqueue({ kind: 'error_line', afterChunks: 1, message: 'boom' });
      const res = await post('/api/chat', { ...HELLO, stream: false });
      expect(res.statusCode).toBe(500);
      expect(await res.body.json()).toEqual({ error: 'boom' });
    });

    it('slow: waits before every chunk, including the first', async () => {
      await startFake();
      fake.enqueue({ kind: 'slow', delayMs: 40 });
      const started = Date.now();
      const res = await post('/api/chat', HELLO);
      const firstByteAfter = Date.now() - started;
      const chunks = await ndjson(res);

      expect(firstByteAfter).toBeGreaterThanOrEqual(35);
      expect(Date.now() - started).toBeGreaterThanOrEqual(3 * 40 - 10);
      expect(contentOf(chunks)).toBe('Echo: hi there');
    });

    it('delay_first: waits before the first chunk only', async () => {
      await startFake();
      fake.enqueue({ kind: 'delay_first', delayMs: 100 });
      const started = Date.now();
      const res = await post('/api/chat', HELLO);
      const firstByteAfter = Date.now() - started;
      await ndjson(res);

      expect(firstByteAfter).toBeGreaterThanOrEqual(90);
      expect(Date.now() - started).toBeLessThan(3 * 100);
    });
  });

  describe('waiting helpers and stop()', () => {
    it('waitForAbort fails with a clear message when the request never comes or completes', async () => {
      await startFake();
      await expect(fake.waitForAbort(0, 30)).rejects.toThrow(/request #0 never arrived/);
      await (await post('/api/chat', HELLO)).body.text();
      await expect(fake.waitForAbort(0, 1_000)).rejects.toThrow(/completed without being aborted/);
    });

    it('stop() releases hung requests and is idempotent', async () => {
      await startFake();
      fake.enqueue({ kind: 'hang' }, { kind: 'hang_after_headers' });
      const hung = expect(post('/api/chat', HELLO)).rejects.toMatchObject({ code: 'UND_ERR_SOCKET' });
      await fake.waitForRequests(1);
      const headersOnly = await post('/api/chat', HELLO);
      const cut = readToFailure(headersOnly.body);

      await Promise.all([fake.stop(), fake.stop()]);
      await hung;
      expect((await cut).error).toMatchObject({ code: 'UND_ERR_SOCKET' });
      expect(fake.chatRequests().map((r) => r.aborted)).toEqual([false, false]);
      expect(fake.inFlight()).toBe(0);
    });
  });

  describe('other endpoints', () => {
    it('GET and HEAD / say that Ollama is running', async () => {
      await startFake();
      const res = await get('/');
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/plain/);
      expect(await res.body.text()).toBe('Ollama is running');
      const head = await get('/', 'HEAD');
      expect(head.statusCode).toBe(200);
      expect(await head.body.text()).toBe('');
    });

    it('/api/version reports the configured version', async () => {
      await startFake({ version: '0.13.0' });
      expect(await (await get('/api/version')).body.json()).toEqual({ version: '0.13.0' });
      expect((await get('/api/version', 'HEAD')).statusCode).toBe(200);
    });

    it('/api/tags lists every model with a tag, digest and details; /api/ps lists none', async () => {
      await startFake({ models: ['mistral', 'llama3.2:3b'] });
      const { models } = (await (await get('/api/tags')).body.json()) as { models: any[] };

      expect(models.map((m) => [m.name, m.model])).toEqual([
        ['mistral:latest', 'mistral:latest'],
        ['llama3.2:3b', 'llama3.2:3b'],
      ]);
      for (const model of models) {
        expect(model.digest).toMatch(/^[0-9a-f]{64}$/);
        expect(model.modified_at).toMatch(RFC3339);
        expect(model.size).toBeGreaterThan(0);
        expect(model.details).toEqual({
          parent_model: '',
          format: 'gguf',
          family: 'llama',
          families: ['llama'],
          parameter_size: '7.2B',
          quantization_level: 'Q4_0',
        });
      }
      expect((await get('/api/tags', 'HEAD')).statusCode).toBe(200);
      expect(await (await get('/api/ps')).body.json()).toEqual({ models: [] });
    });

    it('/api/show describes a model and 404s an unknown one', async () => {
      await startFake();
      const show = (await (await post('/api/show', { model: 'mistral:latest' })).body.json()) as any;
      expect(show.capabilities).toEqual(['completion']);
      expect(show.model_info).toMatchObject({ 'general.architecture': 'llama', 'llama.context_length': 32768 });

      const missing = await post('/api/show', { model: 'nope' });
      expect(missing.statusCode).toBe(404);
      expect(await missing.body.json()).toEqual({ error: "model 'nope' not found" });
    });

    it('/api/embed returns deterministic 8-dimensional unit vectors', async () => {
      await startFake({ models: ['nomic-embed-text'] });
      const embed = async (input: string | string[]) => (await (await post('/api/embed', { model: 'nomic-embed-text', input })).body.json()) as any;
      const pair = await embed(['alpha', 'beta']);
      const single = await embed('alpha');

      expect(pair).toMatchObject({ model: 'nomic-embed-text', prompt_eval_count: 2 });
      expect(Number.isInteger(pair.total_duration) && Number.isInteger(pair.load_duration)).toBe(true);
      expect(pair.embeddings).toHaveLength(2);
      for (const vector of pair.embeddings as number[][]) {
        expect(vector).toHaveLength(8);
        expect(Math.hypot(...vector)).toBeCloseTo(1, 9);
      }
      expect(single.embeddings).toEqual([pair.embeddings[0]]);
      expect(pair.embeddings[1]).not.toEqual(pair.embeddings[0]);
    });

    it('/api/generate streams `response` chunks', async () => {
      await startFake();
      const chunks = await ndjson(await post('/api/generate', { model: 'mistral', prompt: 'why blue' }));
      expect(chunks.map((c) => c.response).join('')).toBe('Echo: why blue');
      expect(chunks.at(-1)).toMatchObject({ done: true, done_reason: 'stop', eval_count: 3 });
    });

    it.each([
      ['GET', '/api/nope'],
      ['GET', '/api/chat'],
    ] as const)('%s %s is a plain-text 404 like Go’s router', async (method, path) => {
      await startFake();
      const res = await get(path, method);
      expect(res.statusCode).toBe(404);
      expect(res.headers['content-type']).toBe('text/plain');
      expect(await res.body.text()).toBe('404 page not found');
    });
  });
});

describe(openSse.name, () => {
  let server: Server;
  let base: string;
  let serverSawClose: Promise<void>;
  let onClientGone: () => void;

  const routes: Record<string, (req: IncomingMessage, res: ServerResponse, body: string) => void> = {
    '/events': (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(': hello comment\r\n:no space\r\n\r\n');
      res.write('event: greeting\r\ndata: line one\r\ndata:line two\r\nid: 7\r\n\r\n');
      res.write('data: after an id\r\r');
      res.end('data: unterminated event is discarded');
    },
    '/forever': (req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: first\n\n');
      req.socket.once('close', onClientGone);
    },
    '/cut': (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: partial\n\n', () => res.destroy());
    },
    '/echo': (req, res, body) => {
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8' });
      res.end(`event: echo\ndata: ${req.method} ${req.headers['content-type']} ${body}\n\n`);
    },
    '/json401': (_req, res) => {
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end('{"error":"unauthorized"}');
    },
  };

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (part: string) => (body += part));
      req.on('end', () => routes[req.url ?? '']?.(req, res, body));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  beforeEach(() => {
    serverSawClose = new Promise<void>((resolve) => {
      onClientGone = resolve;
    });
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('parses comments, named events, multi-line data, ids and CRLF/CR line endings', async () => {
    const sse = await openSse(`${base}/events`);
    expect(sse.status).toBe(200);

    const expected: SseEvent[] = [
      { event: 'greeting', data: 'line one\nline two', id: '7' },
      { event: 'message', data: 'after an id', id: '7' },
    ];
    expect(await sse.all()).toEqual(expected);
    expect(sse.comments).toEqual(['hello comment', 'no space']);
    expect(sse.raw()).toContain('unterminated event is discarded');
  });

  it('gives the same events when the stream arrives one character at a time', () => {
    const events: SseEvent[] = [];
    const comments: string[] = [];
    const parser = new SseParser((e) => events.push(e), (c) => comments.push(c));
    for (const char of '\uFEFF: c\r\nevent: a\r\ndata: 1\r\ndata\r\n\r\ndata: x\r\r') parser.push(char);

    expect(events).toEqual([
      { event: 'a', data: '1\n' },
      { event: 'message', data: 'x' },
    ]);
    expect(comments).toEqual(['c']);
  });

  it('yields events as they arrive and hangs up on close()', async () => {
    const sse = await openSse(`${base}/forever`);
    for await (const event of sse.events) {
      expect(event).toEqual({ event: 'message', data: 'first' });
      break;
    }
    sse.close();
    await serverSawClose;
    expect(await sse.all()).toEqual([{ event: 'message', data: 'first' }]);
  });

  it('rejects all() when the server cuts the stream', async () => {
    const sse = await openSse(`${base}/cut`);
    await expect(sse.all()).rejects.toThrow();
    expect(sse.raw()).toBe('data: partial\n\n');
  });

  it('POSTs a JSON-encoded body', async () => {
    const sse = await openSse(`${base}/echo`, { body: { q: 1 } });
    expect(await sse.all()).toEqual([{ event: 'echo', data: 'POST application/json {"q":1}' }]);
  });

  it('exposes a non-SSE response through status, headers and raw()', async () => {
    const sse = await openSse(`${base}/json401`);
    expect(sse.status).toBe(401);
    expect(sse.headers['content-type']).toBe('application/json');
    expect(await sse.all()).toEqual([]);
    expect(JSON.parse(sse.raw())).toEqual({ error: 'unauthorized' });
  });
});
