import { FakeOllama } from '../support/fake-ollama';
import { queryDb } from '../support/sqlite';
import { startTestApp, TestApp } from '../support/test-app';
import { MAX_JSON_DEPTH } from '../../src/app/json-body-parser';

describe('request validation', () => {
  const fake = new FakeOllama({ models: ['mistral'] });
  let t: TestApp;

  beforeAll(async () => {
    await fake.start();
    t = await startTestApp({ OLLAMA_URL: fake.url, RATE_LIMIT_PER_MINUTE: '0' });
  });
  afterAll(async () => {
    await t.close();
    await fake.stop();
  });

  it.each([
    ['a missing prompt', {}, 'prompt is required'],
    ['an empty prompt', { prompt: '' }, 'prompt must not be empty'],
    ['a prompt that is not a string', { prompt: 42 }, 'prompt must be a string'],
    ['an unknown field', { prompt: 'x', temperature: 1 }, 'property temperature should not exist'],
    ['a session id with bad characters', { prompt: 'x', session_id: 'a b' }, 'session_id may only contain letters, digits, "_" and "-"'],
    ['a session id over 64 characters', { prompt: 'x', session_id: 'a'.repeat(65) }, 'session_id must be shorter than or equal to 64 characters'],
    ['stream that is not a boolean', { prompt: 'x', stream: 'yes' }, 'stream must be a boolean value'],
    ['a model name with spaces', { prompt: 'x', model: 'bad model' }, 'model is not a valid model name'],
    ['options that are not an object', { prompt: 'x', options: [1] }, 'options must be an object'],
    ['an unknown option', { prompt: 'x', options: { temprature: 1 } }, 'options.temprature is not a known Ollama option'],
    ['an option of the wrong type', { prompt: 'x', options: { temperature: 'hot' } }, 'options.temperature must be a number'],
    ['an option out of range', { prompt: 'x', options: { top_p: 1.5 } }, 'options.top_p must not be greater than 1'],
    ['a non-integer option', { prompt: 'x', options: { num_predict: 1.5 } }, 'options.num_predict must be an integer'],
  ])('answers 400 naming the field for %s', async (_case, body, message) => {
    const res = await t.request('/chat', { body });
    expect(res.status).toBe(400);
    const json = await res.json();
    expect(json).toMatchObject({ statusCode: 400, error: 'Bad Request' });
    expect(json.message).toContain(message);
  });

  it('answers 400 for malformed JSON', async () => {
    const res = await t.request('/chat', { body: '{"prompt": ', headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(400);
    expect((await res.json()).message).toMatch(/JSON/);
  });

  it('answers 400 saying what to send for an empty JSON body', async () => {
    const res = await t.request('/chat', { body: '', headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(400);
    expect((await res.json()).message).toBe('Request body is empty: send a JSON object');
  });

  it('answers 400 for a JSON body that is not an object', async () => {
    const res = await t.request('/chat', { body: '"just a string"' });
    expect(res.status).toBe(400);
  });

  it('answers 415 for a body that is not JSON', async () => {
    const res = await t.request('/chat', { body: 'prompt=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(res.status).toBe(415);
    expect(await res.json()).toEqual({ statusCode: 415, error: 'Unsupported Media Type', message: 'Unsupported content type: send application/json' });
  });

  it('answers 413 naming the limit for a body over it', async () => {
    // Not /chat: it takes images and has a larger limit of its own (chat-vision-thinking.e2e-spec.ts).
    for (const size of [t.config.http.bodyLimitBytes + 1, 2_000_000]) {
      const res = await t.request('/feedback', { body: { conversation_id: 1, notes: 'x'.repeat(size) } });
      expect(res.status).toBe(413);
      expect((await res.json()).message).toBe('Request body is larger than 64 KiB (65536 bytes)');
    }
  });

  describe('a deeply nested body', () => {
    const nested = (open: string, close: string, levels: number) => `${open.repeat(levels)}1${close.repeat(levels)}`;
    const deepObject = `{"prompt":"x","zz":${nested('{"a":', '}', 3000)}}`;
    const deepArray = `{"prompt":"x","zz":${nested('[', ']', 3000)}}`;
    const limit = `Request body nests objects and arrays more than ${MAX_JSON_DEPTH} levels deep`;
    const routes = [
      '/chat', '/chat/sse', '/feedback', '/admin/gen', '/admin/db/purge', '/search/web', '/research/summarize',
      '/osint/dns', '/osint/whois', '/osint/ssl_cert', '/osint/http_headers', '/net/scan',
    ];

    it.each(routes)('answers 400 naming the limit on POST %s', async (route) => {
      for (const body of [deepObject, deepArray]) {
        const res = await t.request(route, { body });
        expect(res.status).toBe(400);
        expect(await res.json()).toEqual({ statusCode: 400, error: 'Bad Request', message: limit });
      }
    });

    it('answers 400 in OpenAI\'s error shape on /v1/chat/completions', async () => {
      for (const body of [deepObject, deepArray]) {
        const res = await t.request('/v1/chat/completions', { body: body.replace('"prompt":"x"', '"model":"mistral","messages":[]') });
        expect(res.status).toBe(400);
        expect(await res.json()).toEqual({ error: { message: limit, type: 'invalid_request_error', param: null, code: null } });
      }
    });

    it('counts brackets in JSON, not in strings, and takes a body at the limit to validation', async () => {
      const brackets = await t.request('/chat', { body: { prompt: 'x', model: `[{"${'{['.repeat(500)}\\"` } });
      expect(brackets.status).toBe(400);
      expect((await brackets.json()).message).toMatch(/^model /);
      const atLimit = await t.request('/chat', { body: `{"prompt":"x","zz":${nested('[', ']', MAX_JSON_DEPTH - 1)}}` });
      expect(atLimit.status).toBe(400);
      expect((await atLimit.json()).message).toBe('property zz should not exist');
      const overLimit = await t.request('/chat', { body: `{"prompt":"x","zz":${nested('[', ']', MAX_JSON_DEPTH)}}` });
      expect((await overLimit.json()).message).toBe(limit);
    });
  });

  it('validates GET /chat/sse query parameters the same way', async () => {
    const res = await t.request('/chat/sse?prompt=x&bogus=1');
    expect(res.status).toBe(400);
    expect((await res.json()).message).toContain('property bogus should not exist');
  });

  it('answers 404 in the same error shape for an unknown route', async () => {
    const res = await t.request('/nope');
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ statusCode: 404, error: 'Not Found' });
  });

  it('never stores anything for refused input and never calls the backend', async () => {
    expect(fake.chatRequests()).toHaveLength(0);
    expect(await queryDb(t.dbPath, 'SELECT * FROM conversations')).toEqual([]);
  });
});
