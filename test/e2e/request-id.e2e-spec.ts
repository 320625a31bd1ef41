import { openSse } from '../support/sse-client';
import { TEST_API_KEY, TestApp, useAppWithFakeOllama } from '../support/test-app';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('X-Request-Id', () => {
  const env = useAppWithFakeOllama();
  const fake = env.fake;
  let t: TestApp;

  beforeEach(async () => {
    t = await env.start();
  });

  it("echoes a well-formed client id on answers, errors and unknown routes", async () => {
    const id = 'trace-42.a:b_C';
    const cases: [string, Parameters<TestApp['request']>[1], number][] = [
      ['/chat', { body: { prompt: 'hi' } }, 200],
      ['/chat', { body: { prompt: 'hi' }, key: null }, 401],
      ['/chat', { body: { prompt: '' } }, 400],
      ['/no/such/route', {}, 404],
      ['/healthz', { key: null }, 200],
    ];
    for (const [path, init, status] of cases) {
      const res = await t.request(path, { ...init, headers: { 'x-request-id': id } });
      expect({ path, status: res.status, id: res.headers.get('x-request-id') }).toEqual({ path, status, id });
    }
  });

  it('echoes it on Server-Sent Events streams, which write their own headers', async () => {
    const sse = await openSse(`${t.url}/chat/sse`, {
      headers: { 'x-api-key': TEST_API_KEY, 'x-request-id': 'stream-7' },
      body: { prompt: 'stream me' },
    });
    expect(sse.status).toBe(200);
    expect(sse.headers['x-request-id']).toBe('stream-7');
    expect((await sse.all()).map((e) => e.event).at(-1)).toBe('done');
  });

  it('replaces a missing or malformed id with a fresh UUID', async () => {
    const malformed = ['has space', 'x'.repeat(129), 'quote"d', 'semi;colon', 'ünïcode', ''];
    const seen = new Set<string>();
    for (const given of [undefined, ...malformed]) {
      const headers: Record<string, string> = given === undefined ? {} : { 'x-request-id': given };
      const res = await t.request('/healthz', { key: null, headers });
      const id = res.headers.get('x-request-id') ?? '';
      expect(id).toMatch(UUID);
      seen.add(id);
    }
    expect(seen.size).toBe(malformed.length + 1);
    expect(fake.chatRequests()).toHaveLength(0);
  });

  it('accepts 128 characters', async () => {
    const id = 'a'.repeat(128);
    const res = await t.request('/healthz', { key: null, headers: { 'x-request-id': id } });
    expect(res.headers.get('x-request-id')).toBe(id);
  });
});
