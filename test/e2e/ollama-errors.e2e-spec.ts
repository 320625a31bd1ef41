import { TestApp, useAppWithFakeOllama } from '../support/test-app';

/** Errors under `/api/` (Ollama's native routes) come in Ollama's `{"error": "…"}` shape. */
describe('Ollama error dialect', () => {
  const env = useAppWithFakeOllama();
  let t: TestApp;

  it('answers an unknown /api/ route with 404 {"error"} as JSON; /v1 and Vega routes keep their shapes', async () => {
    t = await env.start();
    const res = await t.request('/api/nothing-here');
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await res.json()).toEqual({ error: 'Cannot GET /api/nothing-here' });
    expect(await (await t.request('/v1/nothing-here')).json()).toMatchObject({ error: { message: 'Cannot GET /v1/nothing-here' } });
    expect(await (await t.request('/nothing-here')).json()).toMatchObject({ statusCode: 404, message: 'Cannot GET /nothing-here' });
  });
});
