import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FakeOllama } from '../support/fake-ollama';
import { startTestApp, tempDir, TestApp } from '../support/test-app';

/** A user turn of `count` five-letter words: 6 UTF-8 bytes, so 2 estimated tokens, a word. */
const words = (count: number) => Array.from({ length: count }, () => 'abcde').join(' ');

/**
 * The context guard on a fallback chain: `gpu-a` has `big` and `solo` (no Modelfile num_ctx: the
 * guard assumes CONTEXT_DEFAULT_NUM_CTX, 4096) and is drained, so their fallbacks on `gpu-b` serve:
 * `small` runs with a 2048-token context, `medium` with 8192. A fallback is checked against its
 * own context before the call goes to it, as the requested model is.
 */
describe('fallback chains and the context guard', () => {
  const a = new FakeOllama({ models: ['big', 'solo'] });
  const b = new FakeOllama({ models: [{ name: 'small', numCtx: 2048 }, { name: 'medium', numCtx: 8192 }] });
  const files = tempDir('vega-fallback-context-');
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

  async function start(env: Record<string, string> = {}): Promise<TestApp> {
    const file = join(files.dir, `backends-${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(
      file,
      [
        'targets:',
        `  - { name: gpu-a, kind: ollama, url: "${a.url}", models: [big, solo] }`,
        `  - { name: gpu-b, kind: ollama, url: "${b.url}", models: [small, medium] }`,
        'fallbacks:',
        '  big: [small, medium]',
        '  solo: [small]',
      ].join('\n'),
    );
    app = await startTestApp({ BACKENDS_FILE: file, OLLAMA_URL: a.url, LLM_MAX_RETRIES: '0', MAX_PROMPT_CHARS: '100000', ...env });
    expect((await app.request('/admin/backends/gpu-a/drain', { method: 'POST' })).status).toBe(200);
    return app;
  }

  const chats = (fake: FakeOllama) => fake.requests.filter((request) => request.path === '/api/chat' || request.path === '/api/generate');

  it('skips a fallback whose context the prompt cannot fit and serves the next one that fits', async () => {
    await start();
    // ~3000 tokens: fits big's 4096, not small's 2048, fits medium's 8192.
    const response = await app!.request('/v1/chat/completions', { body: { model: 'big', messages: [{ role: 'user', content: words(1500) }] } });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-vega-model')).toBe('medium');
    expect((await response.json()).model).toBe('medium');
    expect(chats(b).map((request) => request.body.model)).toEqual(['medium']);
    // A prompt small can hold still goes to small, the first fallback.
    const short = await app!.request('/v1/chat/completions', { body: { model: 'big', messages: [{ role: 'user', content: words(100) }] } });
    expect((await short.json()).model).toBe('small');
  });

  it('when no fallback can hold the prompt, nothing is sent and the client hears that the requested model is unavailable (503)', async () => {
    await start();
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
    await start({ CONTEXT_OVERFLOW: 'raise_num_ctx', CONTEXT_MAX_NUM_CTX: '8192' });
    const response = await app!.request('/api/chat', { body: { model: 'big', messages: [{ role: 'user', content: words(1500) }], stream: false } });
    expect(response.status).toBe(200);
    expect((await response.json()).model).toBe('small');
    const sent = chats(b);
    expect(sent.map((request) => request.body.model)).toEqual(['small']);
    // ~3000 tokens and 256 for the answer, rounded up to 1024: small's 2048 raised to 4096.
    expect(sent[0].body.options.num_ctx).toBe(4096);
  });
});
