import { FakeOllama } from '../support/fake-ollama';
import { Metrics } from '../support/prometheus';
import { queryDb } from '../support/sqlite';
import { startTestApp, TestApp, useAppWithFakeOllama } from '../support/test-app';

/** A user turn of `words` five-letter words: 6 UTF-8 bytes, so 2 estimated tokens, a word. */
const words = (count: number) => Array.from({ length: count }, () => 'abcde').join(' ');

/**
 * The fake's models report a trained context of 32768 tokens and no Modelfile num_ctx, as a
 * model pulled from the library does: the guard assumes CONTEXT_DEFAULT_NUM_CTX (4096).
 */
describe('Context guard', () => {
  const env = useAppWithFakeOllama(['mistral', { name: 'tiny', numCtx: 2048 }]);
  let t: TestApp;

  /** The last user message may be long here: MAX_PROMPT_CHARS would refuse it first. */
  const start = (vars: Record<string, string> = {}) => env.start({ MAX_PROMPT_CHARS: '100000', ...vars });

  const chat = (content: string, extra: Record<string, unknown> = {}) =>
    t.request('/v1/chat/completions', { body: { model: 'mistral', messages: [{ role: 'user', content }], ...extra } });

  async function scrape(): Promise<Metrics> {
    const res = await t.request('/metrics', { key: null });
    return new Metrics(await res.text());
  }

  it('refuses a prompt that cannot fit the default context, naming both numbers, before it reaches Ollama', async () => {
    t = await start();
    // 2500 words ≈ 5000 tokens by the estimate: more than 4096.
    const res = await chat(words(2500));
    expect(res.status).toBe(400);
    const body = await res.json();
    expect(body.error).toMatchObject({ type: 'invalid_request_error', code: 'context_length_exceeded', param: 'messages' });
    expect(body.error.message).toMatch(/about 5\d{3} tokens .* the context of mistral is 4096 tokens \(CONTEXT_DEFAULT_NUM_CTX\)/);
    expect(env.fake.chatRequests()).toHaveLength(0);

    // A prompt that fits goes through.
    const ok = await chat(words(100));
    expect(ok.status).toBe(200);
    expect(env.fake.chatRequests()).toHaveLength(1);
  });

  it("takes the request's own num_ctx over the default; num_predict caps the answer and is not room it needs", async () => {
    t = await start({ MAX_PROMPT_CHARS: '100000' });
    const small = await t.request('/chat', { body: { prompt: words(200), options: { num_ctx: 256 } } });
    expect(small.status).toBe(400);
    expect((await small.json()).message).toMatch(/the context of mistral is 256 tokens \(options\.num_ctx\)/);

    // 400 tokens of prompt and a cap of 3900 for the answer: the prompt fits 4096 whole, and
    // Ollama ends the answer where the context ends (as Anthropic clients' max_tokens: 32000 expects).
    const capped = await t.request('/chat', { body: { prompt: words(200), options: { num_predict: 3900 } } });
    expect(capped.status).toBe(200);
    expect(env.fake.chatRequests()[0].body.options).toMatchObject({ num_predict: 3900 });
    expect(env.fake.chatRequests()[0].body.options.num_ctx).toBeUndefined();
    // ~3900 tokens of prompt leave less than the shortest answer (256 tokens).
    const full = await t.request('/chat', { body: { prompt: words(1950), options: { num_predict: 3900 } } });
    expect(full.status).toBe(400);
    expect((await full.json()).message).toMatch(/the answer needs at least 256 more, but the context of mistral is 4096 tokens/);
    env.fake.reset();

    const big = await t.request('/chat', { body: { prompt: words(2500), options: { num_ctx: 16384 } } });
    expect(big.status).toBe(200);
    expect(env.fake.chatRequests()).toHaveLength(1);
    expect(env.fake.chatRequests()[0].body.options.num_ctx).toBe(16384);
  });

  it('the trained context length caps any num_ctx (Ollama caps it too)', async () => {
    t = await start({ CONTEXT_DEFAULT_NUM_CTX: '65536', CONTEXT_MAX_NUM_CTX: '65536' });
    const res = await chat(words(16_500));
    expect(res.status).toBe(400);
    expect((await res.json()).error.message).toMatch(/the context of mistral is 32768 tokens/);
    expect(env.fake.chatRequests()).toHaveLength(0);
  });

  it('CONTEXT_OVERFLOW=raise_num_ctx sends a num_ctx that fits, up to CONTEXT_MAX_NUM_CTX', async () => {
    t = await start({ CONTEXT_OVERFLOW: 'raise_num_ctx', CONTEXT_MAX_NUM_CTX: '8192' });
    const res = await chat(words(2500));
    expect(res.status).toBe(200);
    const sent = env.fake.chatRequests()[0].body.options.num_ctx as number;
    // ~5000 tokens of prompt + 256 for the answer, rounded up to a multiple of 1024.
    expect(sent).toBeGreaterThan(5256);
    expect(sent % 1024).toBe(0);
    expect(sent).toBeLessThanOrEqual(8192);

    const tooBig = await chat(words(5000));
    expect(tooBig.status).toBe(400);
    expect((await tooBig.json()).error.message).toMatch(/more than 8192 \(CONTEXT_MAX_NUM_CTX\)/);
    expect(env.fake.chatRequests()).toHaveLength(1);

    // A large num_predict raises the context to hold it all when it can, and as far as it can otherwise.
    expect((await t.request('/chat', { body: { prompt: words(200), options: { num_predict: 3900 } } })).status).toBe(200);
    expect(env.fake.chatRequests()[1].body.options.num_ctx).toBe(5120);
    expect((await t.request('/chat', { body: { prompt: words(200), options: { num_predict: 32000 } } })).status).toBe(200);
    expect(env.fake.chatRequests()[2].body.options.num_ctx).toBe(8192);
  });

  it('counts a prompt Ollama read as far fewer tokens than were sent', async () => {
    t = await start();
    const before = (await scrape()).value('vega_context_truncations_total', { model: 'mistral' });
    expect(before).toBe(0);
    // ~1000 tokens sent; Ollama says it read 120 of them.
    env.fake.enqueue({ kind: 'reply', text: 'Sure.', promptEvalCount: 120 });
    expect((await chat(words(500))).status).toBe(200);
    // An honest count is not one.
    expect((await chat(words(400))).status).toBe(200);
    expect((await scrape()).value('vega_context_truncations_total', { model: 'mistral' })).toBe(1);
    const rows = await queryDb<{ status: string }>(t.dbPath, 'SELECT status FROM conversations');
    expect(rows.map((row) => row.status)).toEqual(['ok', 'ok']);
  });

  it("uses the Modelfile's num_ctx when the request sets none", async () => {
    t = await start();
    const res = await t.request('/v1/chat/completions', { body: { model: 'tiny', messages: [{ role: 'user', content: words(1000) }] } });
    expect(res.status).toBe(400);
    expect((await res.json()).error.message).toMatch(/the context of tiny is 2048 tokens \(the Modelfile's num_ctx\)/);
    expect(env.fake.chatRequests()).toHaveLength(0);
  });

  it('counts a truncation Ollama makes silently when the context it uses is not the one assumed', async () => {
    // Vega is told Ollama gives 16384 tokens; the fake, like Ollama on a small GPU, gives 4096.
    t = await start({ CONTEXT_DEFAULT_NUM_CTX: '16384' });
    const messages = Array.from({ length: 10 }, (_, i) => ({ role: i % 2 ? 'assistant' : 'user', content: words(600) }));
    messages.push({ role: 'user', content: 'and so?' });
    const res = await t.request('/v1/chat/completions', { body: { model: 'mistral', messages } });
    expect(res.status).toBe(200);
    expect(env.fake.chatRequests()).toHaveLength(1);
    const { usage } = await res.json();
    // The fake kept the newest messages that fit 4096 words, as Ollama drops the oldest.
    expect(usage.prompt_tokens).toBeLessThanOrEqual(4096);
    expect((await scrape()).value('vega_context_truncations_total', { model: 'mistral' })).toBe(1);
  });

  it('asks Ollama about a model once, not on every chat', async () => {
    t = await start({ CACHE_TTL_SECONDS: '0' });
    for (let i = 0; i < 3; i += 1) expect((await chat(`question ${i}`)).status).toBe(200);
    expect(env.fake.requests.filter((request) => request.path === '/api/show')).toHaveLength(1);
  });
});

/**
 * Ollama on a machine with more GPU memory gives a model a larger context than 4096 by default
 * (32768 from 24 GiB, or OLLAMA_CONTEXT_LENGTH): once the model is loaded, `/api/ps` says which,
 * and the guard goes by that instead of CONTEXT_DEFAULT_NUM_CTX.
 */
describe('Context guard on a server that gives more context by default', () => {
  const fake = new FakeOllama({ models: [{ name: 'mistral', contextLength: 131_072 }], defaultNumCtx: 32_768 });
  let t: TestApp | undefined;
  beforeAll(() => fake.start());
  afterAll(() => fake.stop());
  afterEach(async () => {
    await t?.close();
    t = undefined;
    fake.reset();
  });
  const chat = (app: TestApp, count: number) =>
    app.request('/v1/chat/completions', { body: { model: 'mistral', messages: [{ role: 'user', content: words(count) }] } });

  it('takes the context of the loaded runner (/api/ps) over CONTEXT_DEFAULT_NUM_CTX', async () => {
    // The model is loaded (an empty chat loads it, as `ollama run` does).
    await fetch(`${fake.url}/api/chat`, { method: 'POST', body: JSON.stringify({ model: 'mistral', messages: [] }) });
    t = await startTestApp({ OLLAMA_URL: fake.url, MAX_PROMPT_CHARS: '200000' });
    // ≈ 10,000 tokens by the estimate: more than 4096, well within the 32768 Ollama gave the model.
    const res = await chat(t, 5000);
    expect(res.status).toBe(200);
    expect(fake.chatRequests().at(-1)!.body.options.num_ctx).toBeUndefined();
    // Past what the runner has, the refusal says where the number came from.
    const over = await chat(t, 17_000);
    expect(over.status).toBe(400);
    expect((await over.json()).error.message).toMatch(/the context of mistral is 32768 tokens \(the context Ollama loaded it with\)/);
  });

  it('a model not loaded yet is held to CONTEXT_DEFAULT_NUM_CTX', async () => {
    t = await startTestApp({ OLLAMA_URL: fake.url, MAX_PROMPT_CHARS: '200000' });
    const res = await chat(t, 5000);
    expect(res.status).toBe(400);
    expect((await res.json()).error.message).toMatch(/is 4096 tokens \(CONTEXT_DEFAULT_NUM_CTX\)/);
  });
});
