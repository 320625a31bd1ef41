import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FakeOllama } from '../support/fake-ollama';
import { FakeOpenAi } from '../support/fake-openai';
import { startTestApp, tempDir, TestApp } from '../support/test-app';

/**
 * Fallback chains over two fake Ollama servers: `gpu-a` has `big` (and anything its list does
 * not say), `gpu-b` has `small` and an embedding model. The chain is followed before the first
 * token when the first model's targets are down, open or lack it; the answer and the stored
 * exchange name the model and target that served it. For the context guard, `large` and `solo`
 * (on gpu-a, no Modelfile num_ctx: CONTEXT_DEFAULT_NUM_CTX, 4096) fall back to `small`, which runs
 * with a 2048-token context, and `large` then to `medium` (8192).
 */
describe('fallback chains', () => {
  const a = new FakeOllama({ models: ['big', 'big-embed', 'large', 'solo'] });
  const b = new FakeOllama({ models: [{ name: 'small', numCtx: 2048 }, 'small-embed', { name: 'medium', numCtx: 8192 }] });
  const files = tempDir('vega-fallbacks-');
  let app: TestApp | undefined;

  beforeAll(async () => {
    await Promise.all([a.start(), b.start()]);
  });
  afterAll(async () => {
    await Promise.all([a.stop(), b.stop()]);
    files.remove();
  });
  afterEach(async () => {
    await app?.close();
    app = undefined;
    a.reset();
    b.reset();
  });

  /** Vega over the two servers; `aUrl` replaces gpu-a's address (a port nothing listens on: down). */
  async function start(options: { aUrl?: string; aModels?: string; env?: Record<string, string> } = {}): Promise<TestApp> {
    const file = join(files.dir, `backends-${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(
      file,
      [
        'targets:',
        `  - { name: gpu-a, kind: ollama, url: "${options.aUrl ?? a.url}"${options.aModels === undefined ? ', models: [big, big-embed, large, solo]' : options.aModels} }`,
        `  - { name: gpu-b, kind: ollama, url: "${b.url}", models: [small, small-embed, medium] }`,
        'fallbacks:',
        '  big: [small]',
        '  large: [small, medium]',
        '  solo: [small]',
        '  gone: [small]',
        '  big-embed: [small-embed]',
      ].join('\n'),
    );
    app = await startTestApp({ BACKENDS_FILE: file, OLLAMA_URL: a.url, LLM_MAX_RETRIES: '0', ...options.env });
    return app;
  }

  const chats = (fake: FakeOllama) => fake.requests.filter((request) => request.path === '/api/chat' || request.path === '/api/generate');

  async function stored(id: number): Promise<{ model: string; served_model: string | null; target: string | null; status: string }> {
    const response = await app!.request(`/conversations/${id}`);
    expect(response.status).toBe(200);
    return response.json();
  }

  it('serves the next model of the chain when the first model’s target is down, and says so in the answer, the headers and the stored row', async () => {
    const down = new FakeOllama({ models: ['big'] });
    await down.start();
    const downUrl = down.url;
    await down.stop();
    await start({ aUrl: downUrl });
    const response = await app!.request('/chat', { body: { prompt: 'hello', model: 'big' } });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-vega-model')).toBe('small');
    expect(response.headers.get('x-vega-target')).toBe('gpu-b');
    const body = await response.json();
    expect(body.model).toBe('small');
    expect(chats(b).map((request) => request.body.model)).toEqual(['small']);
    expect(await stored(body.conversation_id)).toMatchObject({ model: 'big', served_model: 'small', target: 'gpu-b', status: 'ok' });
    const history = await (await app!.request('/history?limit=1')).json();
    expect(history.items[0]).toMatchObject({ model: 'big', served_model: 'small', target: 'gpu-b' });
  });

  it('serves the requested model on its own target when that is up (the chain is not used)', async () => {
    await start();
    const response = await app!.request('/chat', { body: { prompt: 'hello', model: 'big' } });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-vega-model')).toBe('big');
    expect(response.headers.get('x-vega-target')).toBe('gpu-a');
    const body = await response.json();
    expect(body.model).toBe('big');
    expect(chats(b)).toHaveLength(0);
    expect(await stored(body.conversation_id)).toMatchObject({ model: 'big', served_model: 'big', target: 'gpu-a' });
    // The same question again comes from the cache: the model that answered it, no target.
    const again = await app!.request('/chat', { body: { prompt: 'hello', model: 'big' } });
    expect(again.headers.get('x-vega-model')).toBe('big');
    expect(again.headers.get('x-vega-target')).toBeNull();
    const cached = await again.json();
    expect(cached.cached).toBe(true);
    expect(await stored(cached.conversation_id)).toMatchObject({ status: 'cached', served_model: 'big', target: null });
  });

  it('skips a target whose breaker is open without asking it, and serves the fallback', async () => {
    await start({ env: { BREAKER_FAIL_THRESHOLD: '1', BREAKER_RESET_SECONDS: '600' } });
    a.enqueue({ kind: 'status', status: 500, message: 'GPU fell off the bus' });
    const failed = await app!.request('/chat', { body: { prompt: 'first', model: 'big' } });
    expect(failed.status).toBe(502); // a server error is not a reason to change model
    expect(chats(b)).toHaveLength(0);
    const asked = chats(a).length;
    const response = await app!.request('/v1/chat/completions', { body: { model: 'big', messages: [{ role: 'user', content: 'second' }] } });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-vega-model')).toBe('small');
    expect(response.headers.get('x-vega-target')).toBe('gpu-b');
    expect((await response.json()).model).toBe('small');
    expect(chats(a)).toHaveLength(asked);
  });

  it('serves the fallback while the model’s only target is drained, and the model again once it is resumed', async () => {
    await start();
    expect((await app!.request('/admin/backends/gpu-a/drain', { method: 'POST' })).status).toBe(200);
    const drained = await app!.request('/v1/chat/completions', { body: { model: 'big', messages: [{ role: 'user', content: 'during maintenance' }] } });
    expect(drained.status).toBe(200);
    expect(drained.headers.get('x-vega-target')).toBe('gpu-b');
    expect((await drained.json()).model).toBe('small');
    expect(chats(a)).toHaveLength(0);
    expect((await app!.request('/admin/backends/gpu-a/resume', { method: 'POST' })).status).toBe(200);
    const resumed = await app!.request('/v1/chat/completions', { body: { model: 'big', messages: [{ role: 'user', content: 'after maintenance' }] } });
    expect(resumed.headers.get('x-vega-target')).toBe('gpu-a');
    expect((await resumed.json()).model).toBe('big');
  });

  it('serves the fallback when the only target that might have the model answers that it lacks it', async () => {
    // gpu-a listed `gone` when Vega asked (model discovery), and lost it since: it is asked for
    // `gone`, and says it has no such model.
    const tell = (path: string, method: string, body: object) => fetch(`${a.url}${path}`, { method, body: JSON.stringify(body) });
    expect((await tell('/api/copy', 'POST', { source: 'big', destination: 'gone' })).status).toBe(200);
    await start({ aModels: '' });
    expect((await tell('/api/delete', 'DELETE', { model: 'gone' })).status).toBe(200);
    const response = await app!.request('/api/chat', { body: { model: 'gone', messages: [{ role: 'user', content: 'hi' }], stream: false } });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-vega-model')).toBe('small');
    expect((await response.json()).model).toBe('small');
    expect(chats(a).map((request) => request.body.model)).toEqual(['gone']);
    expect(chats(b).map((request) => request.body.model)).toEqual(['small']);
  });

  it('names the serving model in every dialect, and in a stream’s headers', async () => {
    const down = new FakeOllama({ models: ['big'] });
    await down.start();
    const downUrl = down.url;
    await down.stop();
    await start({ aUrl: downUrl });
    const completions = await app!.request('/v1/completions', { body: { model: 'big', prompt: 'once upon', max_tokens: 8 } });
    expect(completions.status).toBe(200);
    expect((await completions.json()).model).toBe('small');
    const messages = await app!.request('/v1/messages', { body: { model: 'big', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] } });
    expect(messages.status).toBe(200);
    expect((await messages.json()).model).toBe('small');
    const responses = await app!.request('/v1/responses', { body: { model: 'big', input: 'hi' } });
    expect(responses.status).toBe(200);
    expect((await responses.json()).model).toBe('small');
    const generate = await app!.request('/api/generate', { body: { model: 'big', prompt: 'hi', stream: false } });
    expect(generate.status).toBe(200);
    expect((await generate.json()).model).toBe('small');
    const embeddings = await app!.request('/v1/embeddings', { body: { model: 'big-embed', input: ['one'] } });
    expect(embeddings.status).toBe(200);
    expect(embeddings.headers.get('x-vega-target')).toBe('gpu-b');
    expect((await embeddings.json()).model).toBe('small-embed');
    const embed = await app!.request('/api/embed', { body: { model: 'big-embed', input: 'one' } });
    expect((await embed.json()).model).toBe('small-embed');
    const stream = await app!.request('/v1/chat/completions', { body: { model: 'big', stream: true, messages: [{ role: 'user', content: 'stream this' }] } });
    expect(stream.status).toBe(200);
    expect(stream.headers.get('x-vega-model')).toBe('small');
    expect(stream.headers.get('x-vega-target')).toBe('gpu-b');
    // Every chunk names the model that serves it.
    const chunks = (await stream.text()).split('\n').filter((line) => line.startsWith('data: {')).map((line) => JSON.parse(line.slice(6)));
    expect(chunks.length).toBeGreaterThan(1);
    for (const chunk of chunks) expect(chunk.model).toBe('small');
    const lines = await app!.request('/api/chat', { body: { model: 'big', messages: [{ role: 'user', content: 'lines please' }] } });
    expect(lines.headers.get('x-vega-target')).toBe('gpu-b');
    const objects = (await lines.text()).trim().split('\n').map((line) => JSON.parse(line));
    expect(objects.length).toBeGreaterThan(1);
    for (const object of objects) expect(object.model).toBe('small');
    const events = await app!.request('/v1/messages', { body: { model: 'big', max_tokens: 16, stream: true, messages: [{ role: 'user', content: 'events please' }] } });
    expect(events.headers.get('x-vega-model')).toBe('small');
    expect(await events.text()).toMatch(/event: message_start\ndata: \{[^\n]*"model":"small"/);
    const rows = (await (await app!.request('/history?limit=20')).json()).items as { model: string; served_model: string; target: string }[];
    expect(rows).toHaveLength(9);
    for (const row of rows) expect(row).toMatchObject({ served_model: row.model.endsWith('embed') ? 'small-embed' : 'small', target: 'gpu-b' });
  });

  it('falls back across kinds: an Ollama model down, its fallback on an OpenAI-compatible server', async () => {
    const vllm = new FakeOpenAi({ models: ['qwen'] });
    await vllm.start();
    const down = new FakeOllama({ models: ['big'] });
    await down.start();
    const downUrl = down.url;
    await down.stop();
    try {
      const file = join(files.dir, 'mixed.yaml');
      writeFileSync(
        file,
        [
          'targets:',
          `  - { name: gpu-a, kind: ollama, url: "${downUrl}", models: [big] }`,
          `  - { name: vllm, kind: openai, url: "${vllm.url}", models: [qwen] }`,
          'fallbacks: { big: [qwen] }',
        ].join('\n'),
      );
      app = await startTestApp({ BACKENDS_FILE: file, OLLAMA_URL: downUrl, LLM_MAX_RETRIES: '0' });
      const response = await app.request('/api/chat', { body: { model: 'big', messages: [{ role: 'user', content: 'hi there' }], stream: false } });
      expect(response.status).toBe(200);
      expect(response.headers.get('x-vega-model')).toBe('qwen');
      expect(response.headers.get('x-vega-target')).toBe('vllm');
      expect((await response.json()).model).toBe('qwen');
      expect(vllm.chatRequests().map((request) => request.body.model)).toEqual(['qwen']);
      const row = (await (await app.request('/history?limit=1')).json()).items[0];
      expect(row).toMatchObject({ model: 'big', served_model: 'qwen', target: 'vllm', source: 'ollama' });
    } finally {
      await app?.close();
      app = undefined;
      await vllm.stop();
    }
  });

  it('does not retry on a fallback once the first token went out: the failure is the client’s, the row names who served it', async () => {
    await start();
    a.enqueue({ kind: 'drop', afterChunks: 2 });
    const response = await app!.request('/chat', { body: { prompt: 'tell me a long story about routers', model: 'big' } });
    expect(response.status).toBeGreaterThanOrEqual(500);
    expect(chats(b)).toHaveLength(0);
    const history = await (await app!.request('/history?limit=1')).json();
    expect(history.items[0]).toMatchObject({ model: 'big', served_model: 'big', target: 'gpu-a', status: 'error' });
  });

  describe('and the context guard', () => {
    /** A user turn of `count` five-letter words: 6 UTF-8 bytes, so 2 estimated tokens, a word. */
    const words = (count: number) => Array.from({ length: count }, () => 'abcde').join(' ');

    /** gpu-a drained: `large` and `solo` are served by their fallbacks. */
    async function startDrained(env: Record<string, string> = {}): Promise<void> {
      await start({ env: { MAX_PROMPT_CHARS: '100000', ...env } });
      expect((await app!.request('/admin/backends/gpu-a/drain', { method: 'POST' })).status).toBe(200);
    }

    it('skips a fallback whose context the prompt cannot fit and serves the next one that fits', async () => {
      await startDrained();
      // ~3000 tokens: fits large's 4096, not small's 2048, fits medium's 8192.
      const response = await app!.request('/v1/chat/completions', { body: { model: 'large', messages: [{ role: 'user', content: words(1500) }] } });
      expect(response.status).toBe(200);
      expect(response.headers.get('x-vega-model')).toBe('medium');
      expect((await response.json()).model).toBe('medium');
      expect(chats(b).map((request) => request.body.model)).toEqual(['medium']);
      // A prompt small can hold still goes to small, the first fallback.
      const short = await app!.request('/v1/chat/completions', { body: { model: 'large', messages: [{ role: 'user', content: words(100) }] } });
      expect((await short.json()).model).toBe('small');
    });

    it('when no fallback can hold the prompt, nothing is sent and the client hears that the requested model is unavailable (503)', async () => {
      await startDrained();
      const chat = await app!.request('/chat', { body: { model: 'solo', prompt: words(1500) } });
      expect(chat.status).toBe(503);
      expect(chat.headers.get('retry-after')).not.toBeNull();
      expect((await chat.json()).message).toMatch(/draining/);
      const completion = await app!.request('/v1/completions', { body: { model: 'solo', prompt: words(1500), max_tokens: 16 } });
      expect(completion.status).toBe(503);
      expect(chats(a)).toHaveLength(0);
      expect(chats(b)).toHaveLength(0);
    });

    it('with CONTEXT_OVERFLOW=raise_num_ctx the fallback gets a num_ctx of its own that fits the prompt', async () => {
      await startDrained({ CONTEXT_OVERFLOW: 'raise_num_ctx', CONTEXT_MAX_NUM_CTX: '8192' });
      const response = await app!.request('/api/chat', { body: { model: 'large', messages: [{ role: 'user', content: words(1500) }], stream: false } });
      expect(response.status).toBe(200);
      expect((await response.json()).model).toBe('small');
      const sent = chats(b);
      expect(sent.map((request) => request.body.model)).toEqual(['small']);
      // ~3000 tokens and 256 for the answer, rounded up to 1024: small's 2048 raised to 4096.
      expect(sent[0].body.options.num_ctx).toBe(4096);
    });
  });
});
