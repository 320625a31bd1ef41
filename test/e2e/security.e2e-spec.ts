import { TEST_API_KEY, TestApp, useAppWithFakeOllama } from '../support/test-app';

const EXTRA_KEY = 'extra-key-0123456789abcdef';
const LIMITED_KEY = 'limited-key-0123456789abcd';

describe('API keys and rate limits', () => {
  const env = useAppWithFakeOllama();
  const fake = env.fake;
  let t: TestApp;

  const start = async (vars: Record<string, string> = {}) => {
    t = await env.start({ API_KEYS_EXTRA: `${EXTRA_KEY},${LIMITED_KEY}`, ...vars });
    return t;
  };

  describe('the API-key guard', () => {
    beforeEach(() => start());

    it('refuses a request without a key with 401', async () => {
      const res = await t.request('/chat', { body: { prompt: 'x' }, key: null });
      expect(res.status).toBe(401);
      expect(await res.json()).toEqual({
        statusCode: 401,
        error: 'Unauthorized',
        message: 'Missing API key: send it in the X-API-Key header or as Authorization: Bearer <key>',
      });
    });

    it('refuses a wrong key with 401', async () => {
      for (const key of ['wrong', `${TEST_API_KEY}x`, TEST_API_KEY.slice(0, -1), '']) {
        const res = await t.request('/chat', { body: { prompt: 'x' }, key: null, headers: { 'x-api-key': key } });
        expect(res.status).toBe(401);
      }
      expect(fake.chatRequests()).toHaveLength(0);
    });

    it('accepts the key in X-API-Key or as a bearer token, and the extra keys', async () => {
      expect((await t.request('/chat', { body: { prompt: 'a' } })).status).toBe(200);
      const bearer = await t.request('/chat', { body: { prompt: 'b' }, key: null, headers: { authorization: `Bearer ${TEST_API_KEY}` } });
      expect(bearer.status).toBe(200);
      expect((await t.request('/chat', { body: { prompt: 'c' }, key: EXTRA_KEY })).status).toBe(200);
    });

    it('leaves the health and docs routes public', async () => {
      expect((await t.request('/healthz', { key: null })).status).toBe(200);
      expect((await t.request('/docs', { key: null })).status).toBe(200);
      expect((await t.request('/docs-json', { key: null })).status).toBe(200);
    });

    it('guards every route of the API except the documented public ones', async () => {
      const document = await (await t.request('/docs-json', { key: null })).json();
      const publicRoutes = new Set(['GET /healthz', 'GET /livez', 'GET /readyz', 'GET /metrics']);
      const checked: string[] = [];
      for (const [path, item] of Object.entries<Record<string, { security?: unknown[] }>>(document.paths)) {
        for (const [method, operation] of Object.entries(item)) {
          const route = `${method.toUpperCase()} ${path}`;
          checked.push(route);
          const concrete = path.replace(/\{[^}]+\}/g, '1');
          const res = await t.request(concrete, { method: method.toUpperCase(), key: null, body: method === 'get' || method === 'head' ? undefined : {} });
          if (publicRoutes.has(route)) {
            expect(operation.security).toEqual([]);
            expect(res.status).not.toBe(401);
          } else {
            expect({ route, status: res.status }).toEqual({ route, status: 401 });
            expect(operation.security).toBeUndefined(); // inherits the global key requirement
          }
        }
      }
      expect(checked).toEqual(expect.arrayContaining(['POST /chat', 'POST /chat/sse', 'GET /chat/sse', 'GET /healthz', 'POST /v1/chat/completions', 'GET /v1/models', 'GET /v1/models/{id}']));
      expect(document.security).toEqual([{ 'api-key': [] }, { bearer: [] }]);
    });
  });

  describe('rate limits', () => {
    it('answers 429 with Retry-After past RATE_LIMIT_PER_MINUTE, per key', async () => {
      await start({ RATE_LIMIT_PER_MINUTE: '2' });
      expect((await t.request('/chat', { body: { prompt: '1' } })).status).toBe(200);
      expect((await t.request('/chat', { body: { prompt: '2' } })).status).toBe(200);
      const limited = await t.request('/chat', { body: { prompt: '3' } });
      expect(limited.status).toBe(429);
      const retryAfter = Number(limited.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThan(0);
      expect(retryAfter).toBeLessThanOrEqual(60);
      expect(await limited.json()).toEqual({
        statusCode: 429,
        error: 'Too Many Requests',
        message: expect.stringMatching(/^Too many requests: the limit is 2 per minute; retry in \d+ s$/),
      });
      // Another key has its own budget.
      expect((await t.request('/chat', { body: { prompt: '4' }, key: EXTRA_KEY })).status).toBe(200);
      expect(fake.chatRequests()).toHaveLength(3);
    });

    it('applies RATE_LIMIT_OVERRIDES to the keys it names', async () => {
      await start({ RATE_LIMIT_PER_MINUTE: '100', RATE_LIMIT_OVERRIDES: `${LIMITED_KEY}=1` });
      expect((await t.request('/chat', { body: { prompt: '1' }, key: LIMITED_KEY })).status).toBe(200);
      expect((await t.request('/chat', { body: { prompt: '2' }, key: LIMITED_KEY })).status).toBe(429);
      expect((await t.request('/chat', { body: { prompt: '3' } })).status).toBe(200);
    });

    it('turns per-key limiting off with RATE_LIMIT_PER_MINUTE=0', async () => {
      await start({ RATE_LIMIT_PER_MINUTE: '0' });
      for (let i = 0; i < 5; i += 1) expect((await t.request('/chat', { body: { prompt: `${i}` } })).status).toBe(200);
    });

    it('counts every route of the API against the key\'s one budget, except the probes and metrics', async () => {
      await start({ RATE_LIMIT_PER_MINUTE: '1' });
      expect((await t.request('/history')).status).toBe(200);
      const document = await (await t.request('/docs-json', { key: null })).json();
      const unlimited = new Set(['GET /healthz', 'GET /livez', 'GET /readyz', 'GET /metrics']);
      const checked: string[] = [];
      for (const [path, item] of Object.entries<Record<string, { responses: Record<string, unknown> }>>(document.paths)) {
        for (const [method, operation] of Object.entries(item)) {
          const route = `${method.toUpperCase()} ${path}`;
          checked.push(route);
          const concrete = path.replace(/\{[^}]+\}/g, '1');
          const res = await t.request(concrete, { method: method.toUpperCase(), body: method === 'get' || method === 'head' ? undefined : {} });
          const seen = { route, status: res.status, retryAfter: Number(res.headers.get('retry-after')) > 0, documented: '429' in operation.responses };
          if (unlimited.has(route)) expect({ ...seen, limited: res.status === 429 }).toMatchObject({ route, limited: false, documented: false, retryAfter: false });
          else expect(seen).toEqual({ route, status: 429, retryAfter: true, documented: true });
        }
      }
      expect(checked).toEqual(expect.arrayContaining(['GET /history', 'GET /models', 'GET /admin/status', 'POST /chat', 'GET /v1/models', 'GET /metrics']));
      // The web UI and the API docs are not API routes: they load without spending the budget.
      for (const path of ['/', '/static/app.js', '/docs', '/docs-json']) expect({ path, status: (await t.request(path, { key: null })).status }).toEqual({ path, status: 200 });
    });

    it('counts streaming requests too', async () => {
      await start({ RATE_LIMIT_PER_MINUTE: '1' });
      expect((await t.request('/chat/sse', { body: { prompt: '1' } })).status).toBe(200);
      expect((await t.request('/chat/sse', { body: { prompt: '2' } })).status).toBe(429);
    });
  });

  it('binds to 127.0.0.1 by default', async () => {
    await start();
    expect(t.config.http.host).toBe('127.0.0.1');
  });
});
