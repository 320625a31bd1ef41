import OpenAI, { APIError, type ClientOptions } from 'openai';
import { Agent, fetch as undiciFetch } from 'undici';
import { FakeOllama } from '../support/fake-ollama';
import { queryDb } from '../support/sqlite';
import { startTestApp, TEST_API_KEY, TestApp, useAppWithFakeOllama } from '../support/test-app';
import { failureOf } from '../support/failure';

interface Row {
  prompt: string;
  response: string;
  source: string;
  session_id: string;
  model: string;
  status: string;
  prompt_tokens: number | null;
  completion_tokens: number | null;
}

function sdk(t: TestApp, agents: Agent[]): OpenAI {
  const agent = new Agent();
  agents.push(agent);
  return new OpenAI({
    baseURL: `${t.url}/v1`,
    apiKey: TEST_API_KEY,
    maxRetries: 0,
    timeout: 10_000,
    fetch: undiciFetch as unknown as typeof fetch,
    fetchOptions: { dispatcher: agent } as unknown as ClientOptions['fetchOptions'],
  });
}

const failure = (call: () => Promise<unknown>): Promise<APIError> => failureOf(call, APIError);

describe('POST /v1/completions (legacy)', () => {
  const env = useAppWithFakeOllama(['mistral', { name: 'codellama:code', capabilities: ['completion', 'insert'] }, { name: 'tiny', numCtx: 512 }]);
  const agents: Agent[] = [];
  let t: TestApp;

  afterEach(async () => {
    await Promise.all(agents.splice(0).map((agent) => agent.close()));
  });

  const generateCalls = () => env.fake.requests.filter((request) => request.path === '/api/generate');
  const rows = () =>
    queryDb<Row>(t.dbPath, 'SELECT prompt, response, source, session_id, model, status, prompt_tokens, completion_tokens FROM conversations ORDER BY id');

  it('completions.create: the prompt continued without a chat template, usage, stored as an exchange', async () => {
    t = await env.start();
    const completion = await sdk(t, agents).completions.create({ model: 'mistral', prompt: 'Once upon a time', max_tokens: 50, temperature: 0.2, stop: ['\n\n'], seed: 7 });
    expect(completion).toMatchObject({
      object: 'text_completion',
      model: 'mistral',
      choices: [{ text: 'Echo: Once upon a time', index: 0, logprobs: null, finish_reason: 'stop' }],
      usage: { prompt_tokens: 4, completion_tokens: expect.any(Number) },
    });
    expect(completion.id).toMatch(/^cmpl-[0-9a-f]{24}$/);
    expect(completion.usage!.total_tokens).toBe(completion.usage!.prompt_tokens + completion.usage!.completion_tokens);
    expect(generateCalls()).toHaveLength(1);
    expect(generateCalls()[0].body).toMatchObject({ model: 'mistral', prompt: 'Once upon a time', options: { num_predict: 50, temperature: 0.2, stop: ['\n\n'], seed: 7 } });
    expect(env.fake.chatRequests()).toHaveLength(0);
    const [stored] = await queryDb<{ kind: string; request: string; answer: string }>(t.dbPath, 'SELECT kind, request, answer FROM conversations');
    expect(stored.kind).toBe('completion');
    expect(JSON.parse(stored.request)).toMatchObject({ model: 'mistral', prompt: 'Once upon a time', options: { num_predict: 50, seed: 7 } });
    expect(JSON.parse(stored.answer)).toEqual({ text: 'Echo: Once upon a time', finishReason: 'stop' });
    expect(await rows()).toEqual([
      {
        prompt: 'Once upon a time',
        response: 'Echo: Once upon a time',
        source: 'openai',
        session_id: completion.id.slice('cmpl-'.length),
        model: 'mistral',
        status: 'ok',
        prompt_tokens: 4,
        completion_tokens: completion.usage!.completion_tokens,
      },
    ]);
  });

  it('streams text_completion chunks, a finish chunk, the usage chunk and [DONE]', async () => {
    t = await env.start();
    const stream = await sdk(t, agents).completions.create({ model: 'mistral', prompt: ['Tell me'], stream: true, stream_options: { include_usage: true } });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    const withText = chunks.filter((chunk) => chunk.choices.length > 0);
    expect(withText.map((chunk) => chunk.choices[0].text).join('')).toBe('Echo: Tell me');
    expect(withText.at(-1)!.choices[0]).toEqual({ text: '', index: 0, logprobs: null, finish_reason: 'stop' });
    expect(withText.slice(0, -1).every((chunk) => chunk.choices[0].finish_reason === null && chunk.usage === null)).toBe(true);
    expect(chunks.at(-1)).toMatchObject({ object: 'text_completion', choices: [], usage: { prompt_tokens: 2 } });
    expect(new Set(chunks.map((chunk) => chunk.id)).size).toBe(1);

    // The raw wire ends with [DONE]; without include_usage no chunk carries usage.
    const res = await t.request('/v1/completions', { body: { model: 'mistral', prompt: 'Tell me', stream: true } });
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const text = await res.text();
    expect(text.trimEnd().endsWith('data: [DONE]')).toBe(true);
    expect(text).not.toContain('"usage"');
  });

  it('echo puts the prompt before the text, in one answer and first in a stream', async () => {
    t = await env.start();
    const client = sdk(t, agents);
    const whole = await client.completions.create({ model: 'mistral', prompt: 'Hello', echo: true });
    expect(whole.choices[0].text).toBe('HelloEcho: Hello');
    const stream = await client.completions.create({ model: 'mistral', prompt: 'Hello', echo: true, stream: true });
    const texts: string[] = [];
    for await (const chunk of stream) texts.push(chunk.choices[0]?.text ?? '');
    expect(texts[0]).toBe('Hello');
    expect(texts.join('')).toBe('HelloEcho: Hello');
    // The stored response is what the model generated, not the echo.
    expect((await rows()).map((row) => row.response)).toEqual(['Echo: Hello', 'Echo: Hello']);
  });

  it('logprobs: N gives the tokens, their log probabilities, N alternatives each and text offsets', async () => {
    t = await env.start();
    const completion = await sdk(t, agents).completions.create({ model: 'mistral', prompt: 'Hi there', logprobs: 2 });
    expect(generateCalls()[0].body).toMatchObject({ logprobs: true, top_logprobs: 2 });
    const logprobs = completion.choices[0].logprobs!;
    expect(logprobs.tokens!.join('')).toBe(completion.choices[0].text);
    expect(logprobs.token_logprobs!.every((value) => typeof value === 'number' && value <= 0)).toBe(true);
    expect(logprobs.top_logprobs!.every((top) => Object.keys(top).length === 2)).toBe(true);
    let offset = 0;
    logprobs.tokens!.forEach((token, i) => {
      expect(logprobs.text_offset![i]).toBe(offset);
      offset += token.length;
    });
  });

  it('suffix fills in the middle on a model that can, and a model that cannot says so (400)', async () => {
    t = await env.start();
    const client = sdk(t, agents);
    await client.completions.create({ model: 'codellama:code', prompt: 'def add(a, b):', suffix: '    return c' });
    expect(generateCalls()[0].body).toMatchObject({ prompt: 'def add(a, b):', suffix: '    return c' });
    const error = await failure(() => client.completions.create({ model: 'mistral', prompt: 'x', suffix: 'y' }));
    expect(error.status).toBe(400);
    expect(error.message).toMatch(/does not support insert/);
  });

  describe('bad input: 400 naming the field, nothing sent', () => {
    const cases: [string, Record<string, unknown>, string, RegExp][] = [
      ['an empty prompt', { prompt: '' }, 'prompt', /prompt must not be empty/],
      ['several prompts', { prompt: ['a', 'b'] }, 'prompt', /only one prompt per request is supported \(got 2\)/],
      ['token ids', { prompt: [1, 2, 3] }, 'prompt', /token arrays are not supported/],
      ['n above 1', { prompt: 'x', n: 2 }, 'n', /n must be 1/],
      ['best_of above 1', { prompt: 'x', best_of: 3 }, 'best_of', /best_of must be 1/],
      ['logprobs above 5', { prompt: 'x', logprobs: 6 }, 'logprobs', /logprobs must not be greater than 5/],
      ['echo with logprobs', { prompt: 'x', echo: true, logprobs: 1 }, 'echo', /echo: cannot be combined with logprobs/],
      ['logit_bias', { prompt: 'x', logit_bias: { '50256': -100 } }, 'logit_bias', /property logit_bias should not exist/],
      ['stream_options without stream', { prompt: 'x', stream_options: { include_usage: true } }, 'stream_options', /only allowed when stream is true/],
    ];
    it.each(cases)('%s', async (_name, fields, param, message) => {
      t = await env.start();
      const res = await t.request('/v1/completions', { body: { model: 'mistral', ...fields } });
      expect(res.status).toBe(400);
      const { error } = await res.json();
      expect(error).toMatchObject({ type: 'invalid_request_error', param });
      expect(error.message).toMatch(message);
      expect(generateCalls()).toHaveLength(0);
      expect(await rows()).toEqual([]);
    });
  });

  it('the context guard refuses a prompt the model cannot hold, naming prompt, before Ollama cuts it', async () => {
    t = await env.start();
    const prompt = Array.from({ length: 300 }, () => 'abcde').join(' ');
    const error = await failure(() => sdk(t, agents).completions.create({ model: 'tiny', prompt, stream: true }));
    expect(error.status).toBe(400);
    expect(error.error).toMatchObject({ code: 'context_length_exceeded', param: 'prompt' });
    expect(error.message).toMatch(/about 60\d tokens .* the context of tiny is 512 tokens \(the Modelfile's num_ctx\)/);
    expect(generateCalls()).toHaveLength(0);
  });

  it('an unknown model is a 404 before the stream starts', async () => {
    t = await env.start();
    const error = await failure(() => sdk(t, agents).completions.create({ model: 'nope', prompt: 'x', stream: true }));
    expect(error.status).toBe(404);
    expect(error.error).toMatchObject({ code: 'model_not_found' });
  });

  it('a client that leaves mid-stream stops the generation upstream; the exchange is stored as aborted', async () => {
    const slow = new FakeOllama({ models: ['mistral'], tokenDelayMs: 150, reply: () => 'one two three four five six seven eight nine ten' });
    await slow.start();
    const app = await startTestApp({ OLLAMA_URL: slow.url });
    try {
      const controller = new AbortController();
      const res = await fetch(`${app.url}/v1/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': TEST_API_KEY },
        body: JSON.stringify({ model: 'mistral', prompt: 'Count', stream: true }),
        signal: controller.signal,
      });
      const reader = res.body!.getReader();
      const first = new TextDecoder().decode((await reader.read()).value);
      expect(first).toContain('"object":"text_completion"');
      controller.abort();
      const deadline = Date.now() + 5_000;
      let generate = slow.requests.find((request) => request.path === '/api/generate');
      let stored: { status: string }[] = [];
      while (Date.now() < deadline && !(generate?.aborted && stored.length === 1)) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        generate = slow.requests.find((request) => request.path === '/api/generate');
        stored = await queryDb<{ status: string }>(app.dbPath, 'SELECT status FROM conversations');
      }
      expect(generate?.aborted).toBe(true);
      expect(stored.map((row) => row.status)).toEqual(['aborted']);
    } finally {
      await app.close();
      await slow.stop();
    }
  });
});
