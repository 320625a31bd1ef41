import { createHash } from 'node:crypto';
import { FakeOllama } from '../support/fake-ollama';
import { openSse } from '../support/sse-client';
import { queryDb } from '../support/sqlite';
import { startTestApp, TEST_API_KEY, TestApp, useAppWithFakeOllama } from '../support/test-app';

const auth = { 'x-api-key': TEST_API_KEY };

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

/** A 1×1 PNG. */
const PNG_BASE64 = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==';
const PNG_DATA_URL = `data:image/png;base64,${PNG_BASE64}`;

describe('/chat with images, format and think: on the wire', () => {
  const fake = new FakeOllama({
    models: ['mistral', { name: 'qwen3-vl', capabilities: ['completion', 'thinking', 'vision'] }],
  });
  let t: TestApp | undefined;
  beforeAll(async () => {
    await fake.start();
  });
  afterAll(async () => {
    await fake.stop();
  });
  afterEach(async () => {
    await t?.close();
    t = undefined;
    fake.reset();
  });
  const start = async (env: Record<string, string> = {}) => {
    t = await startTestApp({ OLLAMA_URL: fake.url, MODEL_NAME: 'qwen3-vl', CACHE_TTL_SECONDS: '0', ...env });
    return t;
  };
  const sentBodies = () => fake.chatRequests().map((request) => request.body as { think?: unknown; format?: unknown; messages: { role: string; content: string; images?: string[] }[] });

  it('POST /chat returns the reasoning as thinking, and sends think on', async () => {
    await start();
    fake.enqueue({ kind: 'answer', answer: { thinking: 'Two and two make four.', content: 'Four.' } });
    const res = await t!.request('/chat', { body: { prompt: 'What is 2+2?', think: true } });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toMatchObject({ response: 'Four.', thinking: 'Two and two make four.', model: 'qwen3-vl' });
    expect(sentBodies()[0].think).toBe(true);
    expect(await queryDb(t!.dbPath, 'SELECT prompt, response, status FROM conversations')).toEqual([
      { prompt: 'What is 2+2?', response: 'Four.', status: 'ok' },
    ]);
  });

  it('SSE sends the reasoning as thinking frames before the tokens, each with an id, and in done', async () => {
    await start();
    // Chunks 20 ms apart, as a model produces them: each reaches the client as its own frame.
    fake.enqueue({ kind: 'slow', delayMs: 20 });
    const sse = await openSse(`${t!.url}/chat/sse`, { headers: auth, body: { prompt: 'Legs of a spider?', think: 'high' } });
    const events = await sse.all();
    const kinds = events.map((event) => event.event);
    const firstToken = kinds.indexOf('token');
    expect(kinds.lastIndexOf('thinking')).toBeLessThan(firstToken);
    expect(kinds.filter((kind) => kind === 'thinking').length).toBeGreaterThan(1);
    const text = (kind: string) => events.filter((e) => e.event === kind).map((e) => (JSON.parse(e.data) as { text: string }).text).join('');
    expect(text('thinking')).toBe('Considering "Legs of a spider?".');
    expect(text('token')).toBe('Echo: Legs of a spider?');
    // One id sequence over thinking and token frames: <stream>:1, :2, … then :done.
    const ids = events.map((event) => event.id);
    const stream = ids[0]!.split(':')[0];
    expect(ids).toEqual(events.map((_, index) => (index === events.length - 1 ? `${stream}:${index + 1}:done` : `${stream}:${index + 1}`)));
    expect(JSON.parse(events.at(-1)!.data)).toMatchObject({ thinking: 'Considering "Legs of a spider?".', cached: false });
    expect(sentBodies()[0].think).toBe('high');
  });

  it('sends the images with the prompt only (data URL or bare base64), and session memory still works', async () => {
    await start();
    const first = await (await t!.request('/chat', { body: { prompt: 'What is this?', images: [PNG_DATA_URL, PNG_BASE64], think: false } })).json();
    const second = await t!.request('/chat', { body: { prompt: 'And its colour?', session_id: first.session_id, think: false } });
    expect(second.status).toBe(200);
    const [one, two] = sentBodies();
    expect(one.messages.at(-1)).toEqual({ role: 'user', content: 'What is this?', images: [PNG_BASE64, PNG_BASE64] });
    expect(two.messages.slice(-3)).toEqual([
      { role: 'user', content: 'What is this?' },
      { role: 'assistant', content: first.response },
      { role: 'user', content: 'And its colour?' },
    ]);
  });

  it('stores the exchange whole: images as references, think and format, and the reasoning', async () => {
    await start();
    const schema = { type: 'object', properties: { colour: { type: 'string' } }, required: ['colour'] };
    const body = await (await t!.request('/chat', { body: { prompt: 'Which colour?', images: [PNG_DATA_URL], think: 'low', format: schema } })).json();
    const stored = await (await t!.request(`/conversations/${body.conversation_id}`)).json();
    const bytes = Buffer.from(PNG_BASE64, 'base64');
    expect(stored.request).toMatchObject({ model: 'qwen3-vl', think: 'low', format: { schema } });
    expect(stored.request.messages.at(-1)).toEqual({
      role: 'user',
      content: 'Which colour?',
      images: [{ mime: 'image/png', bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') }],
    });
    expect(stored.answer).toMatchObject({ text: body.response, thinking: body.thinking });
    expect(body.thinking).toBe('Considering "Which colour?".');
  });

  it('refuses a non-image and an image over IMAGE_MAX_BYTES with a 400 naming the field; nothing is sent or stored', async () => {
    await start({ IMAGE_MAX_BYTES: '1024' });
    const text = Buffer.from('just some text, not a picture').toString('base64');
    const notImage = await t!.request('/chat', { body: { prompt: 'look', images: [PNG_DATA_URL, text] } });
    expect(notImage.status).toBe(400);
    expect((await notImage.json()).message).toBe('images.1: not a PNG, JPEG, GIF or WebP image');
    const lying = await t!.request('/chat/sse', { body: { prompt: 'look', images: [`data:image/jpeg;base64,${PNG_BASE64}`] } });
    expect(lying.status).toBe(400);
    expect((await lying.json()).message).toBe('images.0: the image is said to be image/jpeg but its bytes are image/png');
    const big = Buffer.concat([Buffer.from(PNG_BASE64, 'base64'), Buffer.alloc(4096)]).toString('base64');
    const tooLarge = await t!.request('/chat', { body: { prompt: 'look', images: [big] } });
    expect(tooLarge.status).toBe(400);
    expect((await tooLarge.json()).message).toMatch(/^images\.0: the image is \d+ bytes, more than the 1024 bytes allowed \(IMAGE_MAX_BYTES\)$/);
    // A body larger than four such images can be is refused unread, naming the chat routes' limit.
    const overLimit = await t!.request('/chat', { body: { prompt: 'look', images: Array.from({ length: 4 }, () => 'A'.repeat(40_000)) } });
    expect(overLimit.status).toBe(413);
    expect((await overLimit.json()).message).toBe(`Request body is larger than ${65_536 + 4 * (1368 + 64)} bytes`);
    expect(fake.chatRequests()).toHaveLength(0);
    expect(await queryDb(t!.dbPath, 'SELECT id FROM conversations')).toEqual([]);
  });

  it('takes a body with the largest images the limit allows (the chat routes have their own body limit)', async () => {
    await start({ IMAGE_MAX_BYTES: String(1024 * 1024) });
    const large = Buffer.concat([Buffer.from(PNG_BASE64, 'base64'), Buffer.alloc(1024 * 1024 - 100)]).toString('base64');
    const res = await t!.request('/chat', { body: { prompt: 'four large images', images: [large, large, large, large], think: false } });
    expect(res.status).toBe(200);
    expect(sentBodies()[0].messages.at(-1)!.images).toHaveLength(4);
  });

  it('answers in JSON with format, a schema or "json", from the body and from the query string', async () => {
    await start();
    const schema = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] };
    const res = await t!.request('/chat', { body: { prompt: 'Where?', format: schema, think: false } });
    expect(res.status).toBe(200);
    expect(JSON.parse((await res.json()).response)).toEqual({ city: expect.any(String) });
    const events = await (await openSse(`${t!.url}/chat/sse?prompt=b&think=false&format=json`, { headers: auth })).all();
    expect(events.at(-1)!.event).toBe('done');
    expect(sentBodies().map(({ think, format }) => ({ think, format }))).toEqual([
      { think: false, format: schema },
      { think: false, format: 'json' },
    ]);
  });

  it('passes the backend’s refusal of think on a model that cannot think through as a 400', async () => {
    await start({ MODEL_NAME: 'mistral' });
    const res = await t!.request('/chat', { body: { prompt: 'hi', think: true } });
    expect(res.status).toBe(400);
    expect((await res.json()).message).toMatch(/does not support thinking/);
  });
});
