import { OllamaEmbeddings } from '@langchain/ollama';
import { Ollama } from 'ollama';
import { FakeOllama } from '../support/fake-ollama';
import { FakeOpenAi } from '../support/fake-openai';
import { Metrics } from '../support/prometheus';
import { queryDb } from '../support/sqlite';
import { startTestApp, TEST_API_KEY, TestApp, useAppWithFakeOllama } from '../support/test-app';

interface Row {
  kind: string;
  source: string;
  model: string;
  status: string;
  prompt: string;
  response: string;
  prompt_tokens: number | null;
  request: string | null;
  answer: string | null;
}

const client = (t: TestApp) => new Ollama({ host: t.url, headers: { Authorization: `Bearer ${TEST_API_KEY}` } });

async function direct(fake: FakeOllama, path: string, body: unknown): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`${fake.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, json: await res.json() };
}

describe("Ollama's embeddings (/api/embed, legacy /api/embeddings)", () => {
  const env = useAppWithFakeOllama(['mistral', { name: 'nomic-embed-text', capabilities: ['embedding'], embeddingLength: 12 }]);
  let t: TestApp;
  const rows = () => queryDb<Row>(t.dbPath, 'SELECT kind, source, model, status, prompt, response, prompt_tokens, request, answer FROM conversations ORDER BY id');
  const embedCalls = () => env.fake.requests.filter((request) => request.path === '/api/embed');

  it('embed, one text and a batch, with the ollama client: the host\'s answer, field for field and in its order; stored as embedding/ollama', async () => {
    t = await env.start();
    const ollama = client(t);
    const one = await ollama.embed({ model: 'nomic-embed-text', input: 'the quick brown fox' });
    const batch = await ollama.embed({ model: 'nomic-embed-text', input: ['alpha beta', 'gamma'], dimensions: 4, truncate: true });
    expect(one.embeddings).toHaveLength(1);
    expect(batch.embeddings.map((vector) => vector.length)).toEqual([4, 4]);
    // The same requests straight to the fake.
    const own = await direct(env.fake, '/api/embed', { model: 'nomic-embed-text', input: ['alpha beta', 'gamma'], dimensions: 4, truncate: true });
    const res = await t.request('/api/embed', { body: { model: 'nomic-embed-text', input: ['alpha beta', 'gamma'], dimensions: 4, truncate: true } });
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    const text = await res.text();
    expect(JSON.parse(text)).toEqual(own.json);
    expect(Object.keys(JSON.parse(text))).toEqual(['model', 'embeddings', 'total_duration', 'load_duration', 'prompt_eval_count']);
    expect(batch).toEqual(own.json);
    expect(embedCalls()[1].body).toEqual({ model: 'nomic-embed-text', input: ['alpha beta', 'gamma'], dimensions: 4, truncate: true });

    const stored = await rows();
    expect(stored.map(({ kind, source, model, status, prompt, response, prompt_tokens }) => ({ kind, source, model, status, prompt, response, prompt_tokens }))).toEqual([
      { kind: 'embedding', source: 'ollama', model: 'nomic-embed-text', status: 'ok', prompt: 'embeddings: 1 input', response: '1 vector of 12 dimensions', prompt_tokens: 4 },
      { kind: 'embedding', source: 'ollama', model: 'nomic-embed-text', status: 'ok', prompt: 'embeddings: 2 inputs', response: '2 vectors of 4 dimensions', prompt_tokens: 3 },
      { kind: 'embedding', source: 'ollama', model: 'nomic-embed-text', status: 'ok', prompt: 'embeddings: 2 inputs', response: '2 vectors of 4 dimensions', prompt_tokens: 3 },
    ]);
    expect(JSON.parse(stored[1].request!)).toEqual({ model: 'nomic-embed-text', input: ['alpha beta', 'gamma'], dimensions: 4, truncate: true });
    // The vectors themselves are never stored.
    expect(JSON.parse(stored[1].answer!)).toEqual({ inputs: 2, dimensions: 4 });
    // Counted like every model call.
    const metrics = new Metrics(await (await t.request('/metrics', { key: null })).text());
    expect(metrics.value('vega_llm_requests_total', { model: 'nomic-embed-text', outcome: 'ok' })).toBe(3);
  });

  it('the legacy /api/embeddings {model, prompt} answers {embedding} as the host does', async () => {
    t = await env.start();
    const body = { model: 'nomic-embed-text', prompt: 'the quick brown fox' };
    const res = await t.request('/api/embeddings', { body });
    expect(res.status).toBe(200);
    const own = await direct(env.fake, '/api/embeddings', body);
    expect(await res.json()).toEqual(own.json);
    expect(await (await t.request('/api/embeddings', { body: { model: 'nomic-embed-text', prompt: '' } })).json()).toEqual({ embedding: [] });
    expect((await rows()).map((row) => [row.kind, row.source, row.prompt])).toEqual([['embedding', 'ollama', 'embeddings: 1 input']]);
  });

  it("LangChain's OllamaEmbeddings: embedQuery and embedDocuments, the key in its headers option", async () => {
    t = await env.start();
    const embeddings = new OllamaEmbeddings({ model: 'nomic-embed-text', baseUrl: t.url, headers: { Authorization: `Bearer ${TEST_API_KEY}` } });
    const query = await embeddings.embedQuery('what is a fox?');
    const documents = await embeddings.embedDocuments(['a fox is an animal', 'a dog is too']);
    expect(query).toHaveLength(12);
    expect(documents.map((vector) => vector.length)).toEqual([12, 12]);
    const own = (await direct(env.fake, '/api/embed', { model: 'nomic-embed-text', input: ['a fox is an animal', 'a dog is too'] })).json as { embeddings: number[][] };
    expect(documents).toEqual(own.embeddings);
    expect((await rows()).map((row) => `${row.source}/${row.status}/${row.prompt}`)).toEqual(['ollama/ok/embeddings: 1 input', 'ollama/ok/embeddings: 2 inputs']);
  });

  it("answers an empty input as Ollama does, without asking the backend", async () => {
    t = await env.start();
    for (const input of ['', []]) {
      const own = await direct(env.fake, '/api/embed', { model: 'nomic-embed-text', input });
      expect(await (await t.request('/api/embed', { body: { model: 'nomic-embed-text', input } })).json()).toEqual(own.json);
    }
    expect(embedCalls()).toHaveLength(2); // the two direct calls
    expect(await rows()).toEqual([]);
  });

  it("refuses bad inputs with Ollama's status and words", async () => {
    t = await env.start();
    const cases: [unknown, number, string][] = [
      [{ input: 'x' }, 400, 'model is required'],
      [{ model: 'nomic-embed-text', input: [1, 2] }, 400, 'invalid input type'],
      [{ model: 'nomic-embed-text', input: [['a']] }, 400, 'invalid input type'],
      [{ model: 'nomic-embed-text', input: 5 }, 400, 'invalid input type'],
      [{ model: 'nomic-embed-text', input: 'x', dimensions: 'four' }, 400, 'json: cannot unmarshal string into Go struct field EmbedRequest.dimensions of type int'],
      [{ model: 'nomic-embed-text', input: 'x', truncate: 'no' }, 400, 'json: cannot unmarshal string into Go struct field EmbedRequest.truncate of type *bool'],
      [{ model: 7, input: 'x' }, 400, 'json: cannot unmarshal number into Go struct field EmbedRequest.model of type string'],
    ];
    for (const [body, status, error] of cases) {
      const res = await t.request('/api/embed', { body });
      expect({ body, status: res.status, json: await res.json() }).toEqual({ body, status, json: { error } });
    }
    // The same bodies straight to Ollama (the fake) give the same status and words.
    for (const [body, status, error] of cases.filter(([, , message]) => !message.includes('*bool'))) {
      expect({ body, answer: await direct(env.fake, '/api/embed', body) }).toEqual({ body, answer: { status, json: { error } } });
    }
    // A model no server lists: Ollama's own API answers in Ollama's own words, as one Ollama server would.
    const unknown = await t.request('/api/embed', { body: { model: 'nope', input: 'x' } });
    expect({ status: unknown.status, json: await unknown.json() }).toEqual({ status: 404, json: { error: 'model "nope" not found, try pulling it first' } });
    const legacy = await t.request('/api/embeddings', { body: { model: 'nomic-embed-text', prompt: 3 } });
    expect({ status: legacy.status, json: await legacy.json() }).toEqual({
      status: 400,
      json: { error: 'json: cannot unmarshal number into Go struct field EmbeddingRequest.prompt of type string' },
    });
    // A model that cannot embed: the backend's 400, with its message.
    const chatModel = await t.request('/api/embed', { body: { model: 'mistral', input: 'x' } });
    expect(chatModel.status).toBe(400);
    expect((await chatModel.json()).error).toContain('registry.ollama.ai/library/mistral:latest does not support embedding');
    // The ollama client reads the message.
    await expect(client(t).embed({ model: 'nope', input: 'x' })).rejects.toMatchObject({ name: 'ResponseError', status_code: 404, error: 'model "nope" not found, try pulling it first' });
    // The failed calls that reached the backend are stored, as errors.
    expect((await rows()).map((row) => `${row.model}/${row.status}`)).toEqual(['nope/error', 'mistral/error', 'nope/error']);
  });

  it('wants the key (401 {"error"}), and stops the call when the breaker is open (503)', async () => {
    t = await env.start({ BREAKER_FAIL_THRESHOLD: '1', LLM_MAX_RETRIES: '0' });
    const res = await t.request('/api/embed', { key: null, body: { model: 'nomic-embed-text', input: 'x' } });
    expect({ status: res.status, keys: Object.keys(await res.json()) }).toEqual({ status: 401, keys: ['error'] });
    await env.fake.stop();
    try {
      expect((await t.request('/api/embed', { body: { model: 'nomic-embed-text', input: 'x' } })).status).toBe(503);
      const open = await t.request('/api/embed', { body: { model: 'nomic-embed-text', input: 'x' } });
      expect(open.status).toBe(503);
      expect(open.headers.get('retry-after')).toMatch(/^\d+$/);
      expect((await open.json()).error).toMatch(/circuit breaker open/);
    } finally {
      await env.fake.start(Number(new URL(t.config.llm.urls[0]!).port));
    }
  });
});

describe('/api/embed on LLM_BACKEND=openai', () => {
  const openai = new FakeOpenAi({ models: ['text-embedding-3-small'] });
  let t: TestApp;
  beforeAll(async () => {
    await openai.start();
    t = await startTestApp({ LLM_BACKEND: 'openai', OPENAI_BASE_URL: openai.url, OLLAMA_URL: 'http://127.0.0.1:9' });
  });
  afterAll(async () => {
    await t.close();
    await openai.stop();
  });

  it("embeds through the server's /embeddings, with Vega's own duration and the tokens it read", async () => {
    const answer = await client(t).embed({ model: 'text-embedding-3-small', input: ['one', 'two'] });
    expect(answer.model).toBe('text-embedding-3-small');
    expect(answer.embeddings).toHaveLength(2);
    expect(answer.total_duration).toBeGreaterThan(0);
    expect(answer.load_duration).toBeUndefined();
    expect(openai.requests.filter((request) => request.path === '/v1/embeddings')).toHaveLength(1);
  });
});
