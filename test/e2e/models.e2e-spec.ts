import { FakeOllama } from '../support/fake-ollama';
import { startTestApp, TestApp, useAppWithFakeOllama } from '../support/test-app';

describe('GET /models', () => {
  const env = useAppWithFakeOllama(['mistral', 'llama3.2:3b', 'gemma3:1b']);
  let t: TestApp;

  it("lists the backend's models by name, with the default model", async () => {
    t = await env.start({ MODEL_NAME: 'llama3.2:3b' });
    const res = await t.request('/models');
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.default_model).toBe('llama3.2:3b');
    expect(body.items.map((model: { name: string }) => model.name)).toEqual(['gemma3:1b', 'llama3.2:3b', 'mistral:latest']);
    expect(body.items[0]).toEqual({
      name: 'gemma3:1b',
      size: expect.any(Number),
      modified_at: expect.any(String),
      family: expect.any(String),
      parameter_size: expect.any(String),
      quantization: expect.any(String),
    });
  });

  it('needs the API key', async () => {
    t = await env.start();
    const before = env.fake.requests.filter((request) => request.path === '/api/tags').length;
    expect((await t.request('/models', { key: null })).status).toBe(401);
    expect((await t.request('/models', { key: 'wrong-key-0123456789abcdef' })).status).toBe(401);
    // Refused before the backend is asked (the background probe may list models on its own).
    expect(env.fake.requests.filter((request) => request.path === '/api/tags').length).toBeLessThanOrEqual(before + 1);
  });

  it('answers 503 with Retry-After when the backend is unreachable', async () => {
    const gone = new FakeOllama();
    const url = await gone.start();
    await gone.stop();
    const down = await startTestApp({ OLLAMA_URL: url });
    try {
      const res = await down.request('/models');
      expect(res.status).toBe(503);
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
      expect((await res.json()).message).toMatch(/Ollama is unreachable/);
    } finally {
      await down.close();
    }
  });

  it('is documented with its response schema', async () => {
    t = await env.start();
    const document = await (await t.request('/docs-json', { key: null })).json();
    const operation = document.paths['/models'].get;
    expect(operation.responses['200'].content['application/json'].schema.$ref).toBe('#/components/schemas/ModelListResponseDto');
    expect(Object.keys(operation.responses)).toEqual(expect.arrayContaining(['401', '502', '503', '504']));
    expect(document.components.schemas.ModelDto.properties.name.description).toBeTruthy();
  });
});
