import { queryDb } from '../support/sqlite';
import { TestApp, useAppWithFakeOllama } from '../support/test-app';

describe('/chat with images, format and think: refused input', () => {
  const env = useAppWithFakeOllama(['mistral']);
  const fake = env.fake;
  let t: TestApp;

  beforeEach(async () => {
    t = await env.start();
  });

  /** A 400 naming the field, on the JSON and both SSE routes, with nothing sent to the model and nothing stored. */
  async function expectRefused(body: Record<string, unknown>, message: RegExp): Promise<void> {
    for (const [path, extra] of [['/chat', {}], ['/chat', { stream: true }], ['/chat/sse', {}]] as const) {
      const res = await t.request(path, { body: { prompt: 'look', ...body, ...extra } });
      expect({ path, status: res.status }).toEqual({ path, status: 400 });
      const json = await res.json();
      expect(json.message).toMatch(message);
    }
    expect(fake.chatRequests()).toHaveLength(0);
    expect(await queryDb(t.dbPath, 'SELECT id FROM conversations')).toEqual([]);
  }

  it('refuses images that are not an array', async () => {
    await expectRefused({ images: 'iVBORw0KGgo=' }, /^images must be an array/);
  });

  it('refuses more images than the documented maximum', async () => {
    await expectRefused({ images: Array.from({ length: 5 }, () => 'iVBORw0KGgo=') }, /^images may hold at most 4 images; it has 5$/);
  });

  it('refuses an image entry that is not a string, or a URL', async () => {
    await expectRefused({ images: ['iVBORw0KGgo=', 42] }, /^images\.1 must be a data URL or a base64 string$/);
    await expectRefused({ images: ['https://example.com/cat.png'] }, /^images\.0 must be a data URL or a base64 string, not a URL$/);
  });

  it('refuses a format that is neither "json" nor a JSON Schema object', async () => {
    await expectRefused({ format: 'yaml' }, /^format must be "json" or a JSON Schema object$/);
    await expectRefused({ format: ['json'] }, /^format must be "json" or a JSON Schema object$/);
    await expectRefused({ format: { type: 'banana' } }, /^format is not a valid JSON Schema: format\/type must be/);
  });

  it('refuses a think value that is neither a boolean nor an effort level', async () => {
    await expectRefused({ think: 'extreme' }, /^think must be true, false, or one of low, medium, high, max$/);
    await expectRefused({ think: 1 }, /^think must be true, false, or one of low, medium, high, max$/);
  });

  it('refuses bad think and format values on GET /chat/sse', async () => {
    const think = await t.request(`/chat/sse?prompt=hi&think=maybe`);
    expect(think.status).toBe(400);
    expect((await think.json()).message).toBe('think must be true, false, or one of low, medium, high, max');
    const format = await t.request(`/chat/sse?prompt=hi&format=xml`);
    expect(format.status).toBe(400);
    expect((await format.json()).message).toBe('format must be "json" (send a JSON Schema in a POST body)');
    expect(fake.chatRequests()).toHaveLength(0);
  });
});
