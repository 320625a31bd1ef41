import { Ollama } from 'ollama';
import { FakeOllama } from '../support/fake-ollama';
import { FakeOpenAi } from '../support/fake-openai';
import { startTestApp, TEST_API_KEY, TestApp } from '../support/test-app';

/** The official client, unmodified, with the key in its headers option. */
const client = (t: TestApp) => new Ollama({ host: t.url, headers: { Authorization: `Bearer ${TEST_API_KEY}` } });

/** The fake's own answer to the same request, for the wire comparisons. */
async function direct(fake: FakeOllama, path: string, body?: unknown): Promise<{ status: number; type: string | null; json: unknown }> {
  const res = await fetch(`${fake.url}${path}`, body === undefined ? {} : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, type: res.headers.get('content-type'), json: await res.json() };
}

/** What ollama-js throws for an error answer (its ResponseError, which the package does not export). */
interface ResponseError extends Error {
  error: string;
  status_code: number;
}

async function rejection(call: () => Promise<unknown>): Promise<ResponseError> {
  try {
    await call();
  } catch (error) {
    expect((error as Error).name).toBe('ResponseError');
    return error as ResponseError;
  }
  throw new Error('expected the call to fail');
}

describe("Ollama's model routes (/api/tags, /api/ps, /api/show, /api/version)", () => {
  // Two OLLAMA_URL hosts with different models; both have mistral.
  const first = new FakeOllama({ models: ['mistral', 'nomic-embed-text'], version: '0.12.6' });
  const second = new FakeOllama({ models: [{ name: 'llama3.2', capabilities: ['completion', 'tools'] }, 'mistral'], version: '0.13.0' });
  let t: TestApp | undefined;

  beforeAll(async () => {
    await first.start();
    await second.start();
  });
  afterAll(async () => {
    await first.stop();
    await second.stop();
  });
  afterEach(async () => {
    await t?.close();
    t = undefined;
    first.reset();
    second.reset();
  });

  const start = async (env: Record<string, string> = {}) => (t = await startTestApp({ OLLAMA_URL: `${first.url},${second.url}`, ...env }));

  describe('one host', () => {
    it('list, show and version through the ollama client are byte-for-byte what the host answers', async () => {
      const app = await start({ OLLAMA_URL: first.url });
      const ollama = client(app);
      const listed = await ollama.list();
      const tags = await app.request('/api/tags', { key: null, headers: { authorization: `Bearer ${TEST_API_KEY}` } });
      expect(tags.status).toBe(200);
      expect(tags.headers.get('content-type')).toBe('application/json; charset=utf-8');
      const own = await direct(first, '/api/tags');
      expect(await tags.json()).toEqual(own.json);
      expect(listed.models.map((model) => model.name)).toEqual(['mistral:latest', 'nomic-embed-text:latest']);
      expect(listed.models[0]).toMatchObject({ model: 'mistral:latest', size: expect.any(Number), digest: expect.stringMatching(/^[0-9a-f]{64}$/), details: { family: 'llama' } });

      const shown = await ollama.show({ model: 'mistral' });
      expect(JSON.parse(JSON.stringify(shown))).toEqual((await direct(first, '/api/show', { model: 'mistral' })).json);
      expect(shown.capabilities).toEqual(['completion']);
      expect((shown.model_info as unknown as Record<string, unknown>)['general.architecture']).toBe('llama');
      // `verbose` is passed on (this client version has no option for it).
      expect((await app.request('/api/show', { body: { model: 'mistral', verbose: true } })).status).toBe(200);
      expect(first.requests.filter((request) => request.path === '/api/show').map((request) => request.body)).toEqual([{ model: 'mistral' }, { model: 'mistral' }, { model: 'mistral', verbose: true }]);

      expect(await ollama.version()).toEqual({ version: '0.12.6' });
    });

    it('ps lists what the host has loaded, with the context it was loaded with', async () => {
      const app = await start({ OLLAMA_URL: first.url });
      const ollama = client(app);
      expect(await ollama.ps()).toEqual({ models: [] });
      await ollama.embed({ model: 'nomic-embed-text', input: 'load me', keep_alive: '10m' });
      const running = await ollama.ps();
      expect(running.models.map((model) => model.name)).toEqual(['nomic-embed-text:latest']);
      expect(running.models[0]).toMatchObject({ context_length: 2048, size_vram: expect.any(Number), expires_at: expect.any(String) });
      const raw = await (await app.request('/api/ps')).json();
      expect(raw).toEqual((await direct(first, '/api/ps')).json);
    });

    it('HEAD /api/tags and HEAD /api/version answer 200 without a body', async () => {
      const app = await start({ OLLAMA_URL: first.url });
      for (const path of ['/api/tags', '/api/version']) {
        const res = await app.request(path, { method: 'HEAD' });
        expect({ path, status: res.status, body: await res.text() }).toEqual({ path, status: 200, body: '' });
        expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      }
    });
  });

  describe('two OLLAMA_URL hosts', () => {
    it('/api/tags lists the models of both hosts, each once (the first host that has it wins), with the hosts that have it for an admin key', async () => {
      const app = await start();
      const { models } = await client(app).list();
      expect(models.map((model) => model.name)).toEqual(['mistral:latest', 'nomic-embed-text:latest', 'llama3.2:latest']);
      const fromFirst = ((await direct(first, '/api/tags')).json as { models: { name: string }[] }).models;
      const fromSecond = ((await direct(second, '/api/tags')).json as { models: { name: string }[] }).models;
      const [one, two] = [new URL(first.url).host, new URL(second.url).host];
      const targets: Record<string, string[]> = { 'mistral:latest': [one, two], 'nomic-embed-text:latest': [one], 'llama3.2:latest': [two] };
      const relayed = [...fromFirst, fromSecond.find((model) => model.name === 'llama3.2:latest')!];
      expect(await (await app.request('/api/tags')).json()).toEqual({ models: relayed.map((model) => ({ ...model, targets: targets[model.name] })) });
    });

    it('/api/ps lists what is loaded on either host, each once, the one kept longest first', async () => {
      const app = await start();
      // Loaded straight on the hosts, as other clients of the same Ollama servers would.
      await direct(second, '/api/embed', { model: 'llama3.2', input: [] });
      await fetch(`${second.url}/api/generate`, { method: 'POST', body: JSON.stringify({ model: 'llama3.2', prompt: 'hi', stream: false, keep_alive: '1h' }) });
      await fetch(`${first.url}/api/generate`, { method: 'POST', body: JSON.stringify({ model: 'mistral', prompt: 'hi', stream: false, keep_alive: '5m' }) });
      await fetch(`${second.url}/api/generate`, { method: 'POST', body: JSON.stringify({ model: 'mistral', prompt: 'hi', stream: false, keep_alive: '2h' }) });
      const { models } = await client(app).ps();
      // mistral is loaded on both: listed once, as the first host has it.
      expect(models.map((model) => model.name)).toEqual(['llama3.2:latest', 'mistral:latest']);
      const firstMistral = ((await direct(first, '/api/ps')).json as { models: { expires_at: string }[] }).models[0];
      expect(models[1].expires_at).toEqual(firstMistral.expires_at);
    });

    it('/api/show asks the hosts in order and relays the answer of the one that has the model', async () => {
      const app = await start();
      const shown = await client(app).show({ model: 'llama3.2' });
      expect(JSON.parse(JSON.stringify(shown))).toEqual((await direct(second, '/api/show', { model: 'llama3.2' })).json);
      expect(shown.capabilities).toEqual(['completion', 'tools']);
    });

    it('a model no host has is 404 in Ollama\'s shape and words', async () => {
      const app = await start();
      const res = await app.request('/api/show', { body: { model: 'nope' } });
      expect(res.status).toBe(404);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      const own = await direct(first, '/api/show', { model: 'nope' });
      expect(await res.json()).toEqual(own.json);
      expect(own.json).toEqual({ error: "model 'nope' not found" });
      const error = await rejection(() => client(app).show({ model: 'nope' }));
      expect(error.status_code).toBe(404);
      expect(error.error).toBe("model 'nope' not found");
    });

    it('a host that is down leaves its models out; with none up, the listing is 503', async () => {
      const down = new FakeOllama({ models: ['ghost'] });
      const port = Number(new URL(await down.start()).port);
      await down.stop();
      const app = await start({ OLLAMA_URL: `http://127.0.0.1:${port},${second.url}` });
      expect((await client(app).list()).models.map((model) => model.name)).toEqual(['llama3.2:latest', 'mistral:latest']);
      expect((await client(app).show({ model: 'mistral' })).details.family).toBe('llama');
      await app.close();
      t = await startTestApp({ OLLAMA_URL: `http://127.0.0.1:${port}`, LLM_MAX_RETRIES: '0' });
      for (const path of ['/api/tags', '/api/ps']) {
        const res = await t.request(path);
        expect({ path, status: res.status }).toEqual({ path, status: 503 });
        expect((await res.json()).error).toMatch(/^Ollama is unreachable at http:\/\/127\.0\.0\.1:\d+ \(connection refused\); is it running\?$/);
      }
      const show = await t.request('/api/show', { body: { model: 'mistral' } });
      expect(show.status).toBe(503);
    });
  });

  describe('bad requests, in Ollama\'s shapes', () => {
    it('refuses a show without a model, with a wrongly typed field, or without a body', async () => {
      const app = await start({ OLLAMA_URL: first.url });
      const cases: [unknown, string][] = [
        [{}, 'model is required'],
        [{ model: '' }, 'model is required'],
        [{ model: 5 }, 'json: cannot unmarshal number into Go struct field ShowRequest.model of type string'],
        [{ model: 'mistral', verbose: 'yes' }, 'json: cannot unmarshal string into Go struct field ShowRequest.verbose of type bool'],
        [[1], 'json: cannot unmarshal array into Go value of type api.ShowRequest'],
      ];
      for (const [body, error] of cases) {
        const res = await app.request('/api/show', { body });
        expect({ body, status: res.status, json: await res.json() }).toEqual({ body, status: 400, json: { error } });
      }
      // Ollama's own answers to the same bodies.
      expect((await direct(first, '/api/show', {})).json).toEqual({ error: 'model is required' });
      // `name`, the old spelling, still works.
      expect((await app.request('/api/show', { body: { name: 'mistral' } })).status).toBe(200);
    });

    it('wants the key: 401 {"error"} without it, and the client\'s headers option carries it', async () => {
      const app = await start({ OLLAMA_URL: first.url });
      for (const path of ['/api/tags', '/api/ps', '/api/version']) {
        const res = await app.request(path, { key: null });
        expect({ path, status: res.status }).toEqual({ path, status: 401 });
        expect(Object.keys(await res.json())).toEqual(['error']);
      }
      const error = await rejection(() => new Ollama({ host: app.url }).list());
      expect(error.status_code).toBe(401);
    });
  });

  describe('LLM_BACKEND=openai', () => {
    const openai = new FakeOpenAi({ models: ['mistral', 'text-embedding-3-small'] });
    beforeAll(async () => {
      await openai.start();
    });
    afterAll(async () => {
      await openai.stop();
    });
    const startOpenAi = async () => (t = await startTestApp({ LLM_BACKEND: 'openai', OPENAI_BASE_URL: openai.url, OLLAMA_URL: 'http://127.0.0.1:9' }));

    it('tags come from /models with Ollama\'s fields (zero where unknown); ps is empty; version is the API Vega follows', async () => {
      const app = await startOpenAi();
      const ollama = client(app);
      expect(await (await app.request('/api/tags')).json()).toEqual({
        models: ['mistral', 'text-embedding-3-small'].map((name) => ({
          name,
          model: name,
          modified_at: new Date(1_700_000_000_000).toISOString(),
          size: 0,
          digest: '',
          details: { parent_model: '', format: '', family: '', families: null, parameter_size: '', quantization_level: '' },
        })),
      });
      expect((await ollama.list()).models.map((model) => model.name)).toEqual(['mistral', 'text-embedding-3-small']);
      expect(await ollama.ps()).toEqual({ models: [] });
      expect(await ollama.version()).toEqual({ version: '0.33.0' });
    });

    it('show: a listed model gets empty details, an unknown one 404 as Ollama words it', async () => {
      const app = await startOpenAi();
      expect(await (await app.request('/api/show', { body: { model: 'mistral' } })).json()).toEqual({
        details: { parent_model: '', format: '', family: '', families: null, parameter_size: '', quantization_level: '' },
        model_info: {},
        modified_at: new Date(1_700_000_000_000).toISOString(),
      });
      const error = await rejection(() => client(app).show({ model: 'nope' }));
      expect({ status: error.status_code, message: error.error }).toEqual({ status: 404, message: "model 'nope' not found" });
    });
  });
});

describe('GET and HEAD / : "Ollama is running" for Ollama clients, the web UI for browsers', () => {
  const fake = new FakeOllama();
  let t: TestApp;
  beforeAll(async () => {
    await fake.start();
    t = await startTestApp({ OLLAMA_URL: fake.url });
  });
  afterAll(async () => {
    await t.close();
    await fake.stop();
  });

  it('answers a probe without Accept, with */* or with application/json as Ollama does, without a key', async () => {
    const own = await fetch(`${fake.url}/`, { headers: { accept: '*/*' } });
    for (const accept of [undefined, '*/*', 'application/json']) {
      const res = await t.request('/', { key: null, headers: accept === undefined ? {} : { accept } });
      expect({ accept, status: res.status, body: await res.text() }).toEqual({ accept, status: 200, body: 'Ollama is running' });
      expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
      expect(res.headers.get('vary')).toMatch(/accept/i);
    }
    expect(await own.text()).toBe('Ollama is running');
    const head = await t.request('/', { key: null, method: 'HEAD' });
    expect({ status: head.status, type: head.headers.get('content-type'), body: await head.text() }).toEqual({ status: 200, type: 'text/plain; charset=utf-8', body: '' });
  });

  it('serves the web UI to a browser, which asks for HTML (and to HEAD from one)', async () => {
    const browser = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';
    const res = await t.request('/', { key: null, headers: { accept: browser } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await res.text()).toMatch(/^<!doctype html>/i);
    const head = await t.request('/', { key: null, method: 'HEAD', headers: { accept: browser } });
    expect(head.headers.get('content-type')).toMatch(/^text\/html/);
    // `text/html;q=0` is a refusal of HTML.
    expect(await (await t.request('/', { key: null, headers: { accept: 'text/html;q=0, */*' } })).text()).toBe('Ollama is running');
  });
});
