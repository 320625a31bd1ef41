import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FakeDns } from '../support/fake-dns';
import { FakeOllama } from '../support/fake-ollama';
import { queryDb } from '../support/sqlite';
import { startTestApp, TestApp } from '../support/test-app';

/** Whether `value` holds a null anywhere. */
const hasNull = (value: unknown): boolean =>
  value === null || (typeof value === 'object' && Object.values(value as object).some(hasNull));

/**
 * `null` for an optional field is refused (400 naming the field) on Vega's own routes; on
 * `/v1/chat/completions` it means "not given", as in OpenAI's spec, and is never forwarded.
 */
describe('null for an optional field', () => {
  const fake = new FakeOllama({ models: ['mistral'] });
  const dns = new FakeDns({ 'known.test': { A: ['127.0.0.1'] } });
  let t: TestApp;

  beforeAll(async () => {
    await fake.start();
    await dns.start();
    t = await startTestApp({ OLLAMA_URL: fake.url, RATE_LIMIT_PER_MINUTE: '0', DNS_SERVERS: dns.server });
  });
  afterAll(async () => {
    await t.close();
    await dns.stop();
    await fake.stop();
  });
  afterEach(() => fake.reset());

  const ROUTES: [string, Record<string, unknown>, string[]][] = [
    ['/chat', { prompt: 'x' }, ['session_id', 'model', 'stream', 'options']],
    ['/chat/sse', { prompt: 'x' }, ['session_id', 'model', 'stream', 'options']],
    ['/admin/gen', {}, ['temperature', 'top_p', 'top_k', 'repeat_penalty', 'presence_penalty', 'frequency_penalty', 'dynamic_generation']],
    ['/feedback', { conversation_id: 1 }, ['rating', 'tags', 'notes', 'reviewed']],
    ['/search/web', { query: 'x' }, ['max_results', 'safesearch']],
    ['/search/images', { query: 'x' }, ['max_results', 'safesearch']],
    ['/research/summarize', { query: 'x' }, ['max_results']],
    ['/research/rag', { query: 'x' }, ['max_results']],
    ['/osint/ssl_cert', { host: 'known.test' }, ['port']],
    ['/osint/username', { username: 'octocat' }, ['include_nsfw', 'sites']],
    ['/net/scan', { host: '127.0.0.1', ports: [1] }, ['timeout', 'concurrency']],
  ];
  const cases = ROUTES.flatMap(([route, body, fields]) => fields.map((field) => [route, field, body] as const));

  it.each(cases)('POST %s answers 400 for %s: null', async (route, field, body) => {
    const res = await t.request(route, { body: { ...body, [field]: null } });
    expect(res.status).toBe(400);
    expect((await res.json()).message).toMatch(new RegExp(`^${field} [^;]*$`));
  });

  it('forwards and stores nothing, and keeps the generation settings free of null', async () => {
    expect(fake.chatRequests()).toHaveLength(0);
    expect(await queryDb(t.dbPath, 'SELECT * FROM conversations')).toEqual([]);
    const settings = await (await t.request('/admin/gen')).json();
    expect(hasNull(settings)).toBe(false);
    const file = join(t.dataDir, 'generation.json');
    if (existsSync(file)) expect(hasNull(JSON.parse(readFileSync(file, 'utf8')))).toBe(false);
  });

  describe('POST /v1/chat/completions', () => {
    const base = { model: 'mistral', messages: [{ role: 'user', content: 'hi' }] };
    const NULLABLE = ['stream', 'stream_options', 'temperature', 'top_p', 'max_tokens', 'max_completion_tokens', 'stop', 'seed', 'presence_penalty', 'frequency_penalty', 'n', 'reasoning_effort', 'logprobs', 'top_logprobs'];

    it('takes null as "not given" for the fields OpenAI marks nullable, and forwards no null', async () => {
      const body = { ...base, ...Object.fromEntries(NULLABLE.map((field) => [field, null])) };
      body.messages = [{ role: 'assistant', content: 'earlier', refusal: null } as never, ...base.messages];
      const res = await t.request('/v1/chat/completions', { body });
      expect(res.status).toBe(200);
      expect((await res.json()).object).toBe('chat.completion');
      const [sent] = fake.chatRequests();
      expect(hasNull(sent.body)).toBe(false);
      expect(sent.body.messages).toEqual([
        { role: 'assistant', content: 'earlier' },
        { role: 'user', content: 'hi' },
      ].map((message) => expect.objectContaining(message)));
    });

    it('documents those fields as nullable in /docs-json, and no other', async () => {
      const document = await (await t.request('/docs-json', { key: null })).json();
      type Property = { nullable?: boolean; oneOf?: { nullable?: boolean }[] };
      const properties: Record<string, Property> = document.components.schemas.ChatCompletionRequestDto.properties;
      // OpenAPI 3.0 wants a `type` beside `nullable`: a oneOf (stop) carries it on a branch.
      const isNullable = (schema: Property) => schema.nullable === true || (schema.oneOf ?? []).some((branch) => branch.nullable === true);
      const nullable = Object.entries(properties).filter(([, schema]) => isNullable(schema)).map(([name]) => name);
      expect(nullable.sort()).toEqual([...NULLABLE].sort());
      expect(document.components.schemas.UpdateGenerationRequestDto.properties.temperature.nullable).toBeUndefined();
    });

    it.each([
      ['user', { ...base, user: null }],
      ['messages.0.name', { ...base, messages: [{ role: 'user', content: 'hi', name: null }] }],
      ['stream_options.include_usage', { ...base, stream: true, stream_options: { include_usage: null } }],
    ])('answers 400 in OpenAI\'s shape for %s: null (not nullable in the spec)', async (param, body) => {
      const res = await t.request('/v1/chat/completions', { body });
      expect(res.status).toBe(400);
      expect((await res.json()).error).toMatchObject({ type: 'invalid_request_error', param });
      expect(fake.chatRequests()).toHaveLength(0);
    });
  });
});
