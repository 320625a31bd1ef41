import { TestApp, useAppWithFakeOllama } from '../support/test-app';

describe('GET /v1/models: what the backend tells of each model', () => {
  const env = useAppWithFakeOllama(['mistral', 'llama3.2:3b']);
  let t: TestApp;

  it("adds each model's capabilities and trained context length beside OpenAI's fields, and Anthropic's fields", async () => {
    t = await env.start();
    const list = await (await t.request('/v1/models')).json();
    const anthropic = (id: string) => ({ type: 'model', display_name: id, created_at: expect.stringMatching(/Z$/) });
    expect(list).toEqual({
      object: 'list',
      data: [
        { id: 'llama3.2:3b', object: 'model', created: expect.any(Number), owned_by: 'ollama', capabilities: ['completion'], context_length: 32768, ...anthropic('llama3.2:3b') },
        { id: 'mistral:latest', object: 'model', created: expect.any(Number), owned_by: 'ollama', capabilities: ['completion'], context_length: 32768, ...anthropic('mistral:latest') },
      ],
      has_more: false,
      first_id: 'llama3.2:3b',
      last_id: 'mistral:latest',
    });
    const one = await (await t.request('/v1/models/mistral')).json();
    expect(one).toMatchObject({ id: 'mistral:latest', capabilities: ['completion'], context_length: 32768 });
  });

  it('asks /api/show once per model, not on every list', async () => {
    t = await env.start();
    for (let i = 0; i < 3; i += 1) expect((await t.request('/v1/models')).status).toBe(200);
    expect((await t.request('/v1/models/llama3.2:3b')).status).toBe(200);
    const shown = env.fake.requests.filter((request) => request.path === '/api/show').map((request) => request.body.model as string);
    expect(shown.sort()).toEqual(['llama3.2:3b', 'mistral:latest']);
  });
});
