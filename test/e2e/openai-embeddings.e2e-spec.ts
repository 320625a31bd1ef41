import OpenAI, { APIError, type ClientOptions } from 'openai';
import { Agent, fetch as undiciFetch } from 'undici';
import { Metrics } from '../support/prometheus';
import { queryDb } from '../support/sqlite';
import { TEST_API_KEY, TestApp, useAppWithFakeOllama } from '../support/test-app';
import { failureOf } from '../support/failure';

interface Row {
  prompt: string;
  response: string;
  source: string;
  model: string;
  status: string;
  prompt_tokens: number | null;
  completion_tokens: number | null;
}

/** The official SDK, unmodified, pointed at Vega, no retries; its agent is closed after the test. */
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

describe('POST /v1/embeddings', () => {
  const env = useAppWithFakeOllama(['mistral', 'nomic-embed-text']);
  const agents: Agent[] = [];
  let t: TestApp;

  afterEach(async () => {
    await Promise.all(agents.splice(0).map((agent) => agent.close()));
  });

  const embedCalls = () => env.fake.requests.filter((request) => request.path === '/api/embed');
  const rows = () => queryDb<Row>(t.dbPath, 'SELECT prompt, response, source, model, status, prompt_tokens, completion_tokens FROM conversations ORDER BY id');

  it('embeddings.create with the SDK default (base64): the SDK decodes little-endian float32 to the same vectors', async () => {
    t = await env.start();
    const client = sdk(t, agents);
    const floats = await client.embeddings.create({ model: 'nomic-embed-text', input: ['alpha beta', 'gamma'], encoding_format: 'float' });
    // No encoding_format: openai-node asks for base64 and decodes it itself.
    const decoded = await client.embeddings.create({ model: 'nomic-embed-text', input: ['alpha beta', 'gamma'] });
    expect(embedCalls()[1].body).toMatchObject({ model: 'nomic-embed-text', input: ['alpha beta', 'gamma'] });

    expect(floats.object).toBe('list');
    expect(floats.model).toBe('nomic-embed-text');
    expect(floats.data.map((item) => [item.object, item.index])).toEqual([['embedding', 0], ['embedding', 1]]);
    expect(floats.data[0].embedding).toHaveLength(8);
    expect(floats.usage).toEqual({ prompt_tokens: 3, total_tokens: 3 });
    // float32 keeps about 7 significant digits.
    decoded.data.forEach((item, index) => {
      expect(item.embedding).toHaveLength(8);
      item.embedding.forEach((value, i) => expect(value).toBeCloseTo(floats.data[index].embedding[i], 6));
    });
  });

  it('base64 on the wire is the little-endian float32 bytes of the vector', async () => {
    t = await env.start();
    const float = await (await t.request('/v1/embeddings', { body: { model: 'nomic-embed-text', input: 'one text' } })).json();
    const res = await t.request('/v1/embeddings', { body: { model: 'nomic-embed-text', input: 'one text', encoding_format: 'base64' } });
    expect(res.status).toBe(200);
    const body = await res.json();
    const bytes = Buffer.from(body.data[0].embedding as string, 'base64');
    expect(bytes).toHaveLength(8 * 4);
    const values = Array.from({ length: 8 }, (_, i) => bytes.readFloatLE(i * 4));
    values.forEach((value, i) => expect(value).toBeCloseTo(float.data[0].embedding[i], 6));
  });

  it('passes dimensions on, and stores each call as an exchange without its vectors', async () => {
    t = await env.start();
    const client = sdk(t, agents);
    const shortened = await client.embeddings.create({ model: 'nomic-embed-text', input: 'alpha beta gamma', dimensions: 4, encoding_format: 'float' });
    expect(embedCalls()[0].body).toMatchObject({ input: ['alpha beta gamma'], dimensions: 4 });
    expect(shortened.data[0].embedding).toHaveLength(4);
    const [stored] = await queryDb<{ kind: string; request: string; answer: string }>(t.dbPath, 'SELECT kind, request, answer FROM conversations');
    expect(stored.kind).toBe('embedding');
    expect(JSON.parse(stored.request)).toEqual({ model: 'nomic-embed-text', input: ['alpha beta gamma'], dimensions: 4 });
    expect(JSON.parse(stored.answer)).toEqual({ inputs: 1, dimensions: 4 });
    expect(await rows()).toEqual([
      {
        prompt: 'embeddings: 1 input',
        response: '1 vector of 4 dimensions',
        source: 'openai',
        model: 'nomic-embed-text',
        status: 'ok',
        prompt_tokens: 3,
        completion_tokens: 0,
      },
    ]);
  });

  it('counts embedding calls in the model metrics', async () => {
    t = await env.start({ MODEL_NAME: 'nomic-embed-text' });
    await sdk(t, agents).embeddings.create({ model: 'nomic-embed-text', input: ['a b', 'c'] });
    const metrics = new Metrics(await (await t.request('/metrics', { key: null })).text());
    expect(metrics.value('vega_llm_requests_total', { model: 'nomic-embed-text', outcome: 'ok' })).toBe(1);
    expect(metrics.value('vega_llm_prompt_tokens_total', { model: 'nomic-embed-text' })).toBe(3);
  });

  describe('bad input: 400 naming the field, nothing sent, nothing stored', () => {
    const cases: [string, unknown, RegExp][] = [
      ['an empty string', '', /input must not be an empty string/],
      ['an empty array', [], /input must not be an empty array/],
      ['an empty string among texts', ['a', ''], /input\.1 must not be an empty string/],
      ['too many inputs', Array.from({ length: 2049 }, () => 'x'), /input must hold at most 2048 items \(got 2049\)/],
      ['a number', 42, /input must be a string, an array of strings, or an array of token arrays/],
      ['mixed texts and tokens', ['a', [1, 2]], /input must not mix strings and token arrays/],
    ];
    it.each(cases)('%s', async (_name, input, message) => {
      t = await env.start();
      const error = await failure(() => sdk(t, agents).embeddings.create({ model: 'nomic-embed-text', input: input as string }));
      expect(error.status).toBe(400);
      expect(error.message).toMatch(message);
      expect(error.error).toMatchObject({ type: 'invalid_request_error', param: 'input' });
      expect(embedCalls()).toHaveLength(0);
      expect(await rows()).toEqual([]);
    });

    it('token arrays: Ollama embeds text only', async () => {
      t = await env.start();
      for (const input of [[1, 2, 3], [[1, 2], [3]]]) {
        const error = await failure(() => sdk(t, agents).embeddings.create({ model: 'nomic-embed-text', input: input as number[] }));
        expect(error.status).toBe(400);
        expect(error.error).toMatchObject({ param: 'input', code: 'unsupported_field' });
        expect(error.message).toMatch(/input: token arrays are not supported \(Ollama embeds text only\); send the text instead/);
      }
      expect(embedCalls()).toHaveLength(0);
    });

    it('dimensions not positive, an unknown encoding', async () => {
      t = await env.start();
      for (const dimensions of [0, -3]) {
        const error = await failure(() => sdk(t, agents).embeddings.create({ model: 'nomic-embed-text', input: 'x', dimensions }));
        expect(error.status).toBe(400);
        expect(error.error).toMatchObject({ param: 'dimensions', message: 'dimensions must be at least 1' });
      }
      const res = await t.request('/v1/embeddings', { body: { model: 'nomic-embed-text', input: 'x', encoding_format: 'int8' } });
      expect(res.status).toBe(400);
      expect((await res.json()).error).toMatchObject({ param: 'encoding_format', message: 'encoding_format must be "float" or "base64"' });
      expect(embedCalls()).toHaveLength(0);
    });
  });

  it("a chat model that cannot embed is a 400 with the backend's reason", async () => {
    t = await env.start();
    const error = await failure(() => sdk(t, agents).embeddings.create({ model: 'mistral', input: 'x' }));
    expect(error.status).toBe(400);
    expect(error.message).toMatch(/^400 Ollama rejected the request: .*does not support embedding/);
    expect(embedCalls()).toHaveLength(1);
  });

  it('an unknown model is a 404 model_not_found, stored as an error', async () => {
    t = await env.start();
    const error = await failure(() => sdk(t, agents).embeddings.create({ model: 'nope', input: 'x' }));
    expect(error.status).toBe(404);
    expect(error.error).toMatchObject({ code: 'model_not_found', param: 'model' });
    expect((await rows()).map((row) => row.status)).toEqual(['error']);
  });
});
