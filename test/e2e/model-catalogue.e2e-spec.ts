import { writeFileSync } from 'node:fs';
import { createServer, Server, Socket } from 'node:net';
import { join } from 'node:path';
import { ModelDiscovery } from '../../src/core/llm/routing/model-discovery';
import { FakeOllama } from '../support/fake-ollama';
import { FakeOpenAi } from '../support/fake-openai';
import { scopedKeys, startTestApp, tempDir, TestApp } from '../support/test-app';

const SECRET = 'sk-cloud-0123456789abcdef-secret';
const CHAT_KEY = 'chat-only-key-0123456789';

/**
 * The catalogue of several model servers behind one Vega (BACKENDS_FILE): two Ollama servers with
 * different models and one OpenAI-compatible server, aliases. Models are discovered from each,
 * listed once, routed to a server that has them, and a model none has is a 404 naming what they have.
 */
describe('the model catalogue of several servers', () => {
  const gpu1 = new FakeOllama({ models: ['mistral', 'llama3.2'] });
  const gpu2 = new FakeOllama({ models: ['llama3.2', 'qwen2.5:32b'] });
  const cloud = new FakeOpenAi({ models: ['gpt-oss'], apiKey: SECRET });
  const temp = tempDir('vega-catalogue-');
  let t: TestApp;

  const backendsFile = (extra = ''): string => {
    const path = join(temp.dir, 'backends.yaml');
    writeFileSync(
      path,
      [
        'targets:',
        `  - { name: gpu-1, kind: ollama, url: "${gpu1.url}" }`,
        `  - { name: gpu-2, kind: ollama, url: "${gpu2.url}" }`,
        `  - { name: cloud, kind: openai, url: "${cloud.url}", api_key: ${SECRET} }`,
        'aliases: { default: fast, fast: llama3.2, coder: qwen2.5:32b }',
        extra,
      ].join('\n'),
    );
    return path;
  };

  beforeAll(async () => {
    await Promise.all([gpu1.start(), gpu2.start(), cloud.start()]);
  });
  beforeEach(async () => {
    t = await startTestApp({ BACKENDS_FILE: backendsFile(), MODEL_NAME: 'mistral' }, { keyStores: [scopedKeys({ [CHAT_KEY]: ['chat'] })] });
  });
  afterEach(async () => {
    await t.close();
    gpu1.reset();
    gpu2.reset();
  });
  afterAll(async () => {
    await Promise.all([gpu1.stop(), gpu2.stop(), cloud.stop()]);
    temp.remove();
  });

  const CATALOGUE = ['coder', 'default', 'fast', 'gpt-oss', 'llama3.2:latest', 'mistral:latest', 'qwen2.5:32b'];
  const TARGETS: Record<string, string[]> = {
    'mistral:latest': ['gpu-1'],
    'llama3.2:latest': ['gpu-1', 'gpu-2'],
    'qwen2.5:32b': ['gpu-2'],
    'gpt-oss': ['cloud'],
    fast: ['gpu-1', 'gpu-2'],
    default: ['gpu-1', 'gpu-2'],
    coder: ['gpu-2'],
  };

  describe('listings', () => {
    it('GET /models: each model once, aliases too, with the servers that have each for an admin key', async () => {
      const body = await (await t.request('/models')).json();
      expect(body.default_model).toBe('llama3.2');
      expect(body.items.map((item: { name: string }) => item.name)).toEqual(CATALOGUE);
      for (const item of body.items) expect({ name: item.name, targets: item.targets }).toEqual({ name: item.name, targets: TARGETS[item.name] });
      expect(body.items.find((item: { name: string }) => item.name === 'coder')).toMatchObject({ alias_of: 'qwen2.5:32b' });
      expect(body.items.find((item: { name: string }) => item.name === 'fast')).toMatchObject({ alias_of: 'llama3.2', family: 'llama' });
    });

    it('GET /v1/models: the same catalogue in OpenAI\'s shape, the servers for an admin key', async () => {
      const body = await (await t.request('/v1/models')).json();
      expect(body.data.map((model: { id: string }) => model.id)).toEqual(CATALOGUE);
      for (const model of body.data) expect({ id: model.id, targets: model.targets }).toEqual({ id: model.id, targets: TARGETS[model.id] });
      const one = await (await t.request('/v1/models/coder')).json();
      expect(one).toMatchObject({ id: 'coder', alias_of: 'qwen2.5:32b', targets: ['gpu-2'] });
    });

    it("GET /api/tags: each server's own entries once, the OpenAI-compatible server's models in Ollama's shape, aliases last", async () => {
      const body = await (await t.request('/api/tags')).json();
      expect(body.models.map((model: { name: string }) => model.name)).toEqual(['mistral:latest', 'llama3.2:latest', 'qwen2.5:32b', 'gpt-oss', 'default', 'fast', 'coder']);
      for (const model of body.models) expect({ name: model.name, targets: model.targets }).toEqual({ name: model.name, targets: TARGETS[model.name] });
      const tags = (await (await fetch(`${gpu1.url}/api/tags`)).json()) as { models: { name: string }[] };
      const own = tags.models.find((model) => model.name === 'llama3.2:latest');
      expect(body.models.find((model: { name: string }) => model.name === 'fast')).toEqual({ ...own, name: 'fast', model: 'fast', targets: ['gpu-1', 'gpu-2'] });
      expect(body.models.find((model: { name: string }) => model.name === 'gpt-oss')).toMatchObject({
        name: 'gpt-oss',
        model: 'gpt-oss',
        digest: '',
        details: { family: '', parameter_size: '' },
        targets: ['cloud'],
      });
      // An alias is shown as its model is.
      const shown = await t.request('/api/show', { body: { model: 'fast' } });
      expect(shown.status).toBe(200);
      expect((await shown.json()).details.family).toBe('llama');
    });

    it('a key without the admin scope is never told which servers there are', async () => {
      for (const path of ['/models', '/v1/models', '/v1/models/fast', '/api/tags']) {
        const res = await t.request(path, { key: CHAT_KEY });
        expect({ path, status: res.status }).toEqual({ path, status: 200 });
        const text = await res.text();
        expect(text).not.toMatch(/gpu-1|gpu-2|cloud|"targets"/);
      }
      const body = await (await t.request('/models', { key: CHAT_KEY })).json();
      expect(body.items.map((item: { name: string }) => item.name)).toEqual(CATALOGUE);
    });
  });

  describe('routing by the catalogue', () => {
    it('sends a model to a server that has it, an alias as its model, and a request naming none to the default alias', async () => {
      const qwen = await t.request('/v1/chat/completions', { body: { model: 'qwen2.5:32b', messages: [{ role: 'user', content: 'hi' }] } });
      expect(qwen.status).toBe(200);
      expect(gpu2.chatRequests().map((request) => request.body.model)).toEqual(['qwen2.5:32b']);

      const coder = await t.request('/api/chat', { body: { model: 'coder', messages: [{ role: 'user', content: 'hi' }], stream: false } });
      expect(coder.status).toBe(200);
      expect(gpu2.chatRequests().map((request) => request.body.model)).toEqual(['qwen2.5:32b', 'qwen2.5:32b']);

      const oss = await t.request('/v1/chat/completions', { body: { model: 'gpt-oss', messages: [{ role: 'user', content: 'hi' }] } });
      expect(oss.status).toBe(200);
      expect(cloud.chatRequests().map((request) => request.body.model)).toEqual(['gpt-oss']);

      const plain = await t.request('/chat', { body: { prompt: 'hi' } });
      expect(plain.status).toBe(200);
      const sent = [...gpu1.chatRequests(), ...gpu2.chatRequests().slice(2)].map((request) => request.body.model);
      expect(sent).toEqual(['llama3.2']);
      expect(gpu1.chatRequests().some((request) => request.body.model === 'qwen2.5:32b')).toBe(false);
    });

    it("a model no server has is a 404 in each lane's dialect naming it and what the servers have; none is asked to chat", async () => {
      const message = `model "nope" not found on any model server; available: ${CATALOGUE.join(', ')}`;
      const chat = await t.request('/chat', { body: { prompt: 'hi', model: 'nope' } });
      expect({ status: chat.status, body: await chat.json() }).toEqual({ status: 404, body: { statusCode: 404, error: 'Not Found', message } });
      const openai = await t.request('/v1/chat/completions', { body: { model: 'nope', messages: [{ role: 'user', content: 'hi' }], stream: true } });
      expect(openai.status).toBe(404);
      expect((await openai.json()).error).toMatchObject({ message, code: 'model_not_found' });
      const ollama = await t.request('/api/chat', { body: { model: 'nope', messages: [{ role: 'user', content: 'hi' }] } });
      // Ollama's own API answers in Ollama's own words, as one Ollama server would.
      expect({ status: ollama.status, body: await ollama.json() }).toEqual({ status: 404, body: { error: 'model "nope" not found, try pulling it first' } });
      const embed = await t.request('/v1/embeddings', { body: { model: 'nope', input: 'x' } });
      expect(embed.status).toBe(404);
      expect((await embed.json()).error.message).toBe(message);
      expect([...gpu1.chatRequests(), ...gpu2.chatRequests(), ...cloud.chatRequests().filter((request) => request.body?.model === 'nope')]).toEqual([]);
    });

    it('a model copied onto a server after start is served at once: the lists are asked again before a refusal', async () => {
      const copied = await fetch(`${gpu1.url}/api/copy`, { method: 'POST', body: JSON.stringify({ source: 'mistral', destination: 'fresh' }) });
      expect(copied.status).toBe(200);
      try {
        const res = await t.request('/api/chat', { body: { model: 'fresh', messages: [{ role: 'user', content: 'hi' }], stream: false } });
        expect(res.status).toBe(200);
        expect(gpu1.chatRequests().map((request) => request.body.model)).toEqual(['fresh']);
        expect((await (await t.request('/models')).json()).items.map((item: { name: string }) => item.name)).toContain('fresh:latest');
      } finally {
        await fetch(`${gpu1.url}/api/delete`, { method: 'DELETE', body: JSON.stringify({ model: 'fresh' }) });
      }
    });
  });

  it('/admin/status, /admin/backends and the logs never show the OpenAI-compatible server\'s key', async () => {
    await t.request('/v1/chat/completions', { body: { model: 'gpt-oss', messages: [{ role: 'user', content: 'hi' }] } });
    const status = await (await t.request('/admin/status')).text();
    expect(status).toContain('cloud');
    expect(status).not.toContain(SECRET);
    const backends = await t.request('/admin/backends');
    expect(backends.status).toBe(200);
    expect(await backends.text()).not.toContain(SECRET);
    expect(t.logs.join('\n')).not.toContain(SECRET);
  });
});

describe('model discovery', () => {
  const live = new FakeOllama({ models: ['mistral'] });
  const temp = tempDir('vega-discovery-');
  let silent: Server;
  const held: Socket[] = [];
  let t: TestApp | undefined;

  beforeAll(async () => {
    await live.start();
    // A server that takes the connection and never answers: its list never comes.
    silent = createServer((socket) => void held.push(socket));
    await new Promise<void>((done) => silent.listen(0, '127.0.0.1', done));
  });
  afterEach(async () => {
    await t?.close();
    t = undefined;
    for (const socket of held.splice(0)) socket.destroy();
    live.reset();
  });
  afterAll(async () => {
    await live.stop();
    await new Promise((done) => silent.close(done));
    temp.remove();
  });

  const start = async (targets: string[]): Promise<TestApp> => {
    const path = join(temp.dir, 'backends.yaml');
    writeFileSync(path, ['strategy: priority', 'targets:', ...targets].join('\n'));
    t = await startTestApp({ BACKENDS_FILE: path, MODELS_REFRESH_SEC: '3600' });
    return t;
  };

  it('start-up does not wait for a server that never lists its models; until it answers it may be sent any model', async () => {
    const port = (silent.address() as { port: number }).port;
    const app = await start([`  - { name: live, kind: ollama, url: "${live.url}" }`, `  - { name: mute, kind: ollama, url: "http://127.0.0.1:${port}" }`]);
    // Started while the silent server's /api/tags is still unanswered.
    expect(held.length).toBeGreaterThan(0);
    expect(held.every((socket) => !socket.destroyed)).toBe(true);
    const res = await app.request('/api/chat', { body: { model: 'mistral', messages: [{ role: 'user', content: 'hi' }], stream: false } });
    expect(res.status).toBe(200);
  });

  it('a server that stops answering keeps its last list: its models are not refused as unknown', async () => {
    const other = new FakeOllama({ models: ['qwen2.5:32b'] });
    await other.start();
    const app = await start([`  - { name: live, kind: ollama, url: "${live.url}" }`, `  - { name: other, kind: ollama, url: "${other.url}" }`]);
    expect((await (await app.request('/models')).json()).items.map((item: { name: string }) => item.name)).toEqual(['mistral:latest', 'qwen2.5:32b']);
    await other.stop();
    await app.app.get(ModelDiscovery).refresh();
    // Still known to be on `other`: the request goes there and finds it down (503), not a 404.
    const res = await app.request('/api/chat', { body: { model: 'qwen2.5:32b', messages: [{ role: 'user', content: 'hi' }], stream: false } });
    expect(res.status).toBe(503);
    expect((await res.json()).error).toMatch(/unreachable/);
    // A model neither has is still a 404.
    const unknown = await app.request('/api/chat', { body: { model: 'nope', messages: [{ role: 'user', content: 'hi' }], stream: false } });
    expect(unknown.status).toBe(404);
  });

  it("a server configured with its models is routed by that list, not by what it lists itself", async () => {
    const both = new FakeOllama({ models: ['mistral', 'llama3.2'] });
    await both.start();
    try {
      const app = await start([`  - { name: both, kind: ollama, url: "${both.url}", models: [mistral] }`]);
      await app.app.get(ModelDiscovery).refresh();
      const unknown = await app.request('/chat', { body: { model: 'llama3.2', prompt: 'hi' } });
      expect({ status: unknown.status, message: (await unknown.json()).message }).toEqual({
        status: 404,
        message: 'model "llama3.2" not found on any model server; available: mistral',
      });
      expect(both.chatRequests()).toEqual([]);
      expect((await (await app.request('/models')).json()).items.map((item: { name: string }) => item.name)).toEqual(['mistral']);
    } finally {
      await t?.close();
      t = undefined;
      await both.stop();
    }
  });
});
