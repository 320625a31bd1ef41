import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Cancellation } from '../../src/common/async/cancellation';
import type { BackendChatRequest, ImageInput } from '../../src/core/llm/llm-backend';
import { ConversationsService } from '../../src/core/persistence/conversations.service';
import {
  storedAnswer,
  storedCompletionRequest,
  storedEmbeddingAnswer,
  storedEmbeddingRequest,
} from '../../src/core/persistence/stored-exchange';
import { InvalidInputError } from '../../src/common/errors/app-errors';
import { DatabaseAdminService } from '../../src/modules/admin/database-admin.service';
import { ChatService } from '../../src/modules/chat/chat.service';
import { runVega } from '../support/cli';
import { execDb } from '../support/seed';
import { FakeOllama, type FakeAnswer } from '../support/fake-ollama';
import { PNG } from '../support/images';
import { queryDb } from '../support/sqlite';
import { startTestApp, tempDir, TestApp } from '../support/test-app';

jest.setTimeout(90_000);

const IMAGE: ImageInput = { mime: 'image/png', data: PNG.toString('base64'), bytes: PNG.length, sha256: createHash('sha256').update(PNG).digest('hex') };

/** What the capable model answers a request that offers tools: reasoning, a word and a call with nested arguments. */
const AGENT_ANSWER: FakeAnswer = {
  thinking: 'Fourvière is in Lyon; book near it for jane.doe@example.com.',
  content: 'Booking now.',
  toolCalls: [{ name: 'book_hotel', arguments: { town: 'Villeurbanne', guest: { email: 'jane.doe@example.com' }, nights: 2 } }],
};

/** An agent's request: an image, an earlier turn with thinking and a tool call, the tool's result, every setting. */
const agentRequest = (): BackendChatRequest => ({
  model: 'qwen3',
  messages: [
    { role: 'system', content: 'You are a travel agent.' },
    { role: 'user', content: 'Where was this photo taken? Mail me at jane.doe@example.com', images: [IMAGE] },
    {
      role: 'assistant',
      content: '',
      thinking: 'The photo shows Fourvière. Her card is 4111 1111 1111 1111.',
      toolCalls: [{ id: 'call_0a1b2c3d', name: 'get_weather', arguments: { city: 'Lyon', contact: { email: 'jane.doe@example.com', phones: ['+33 6 12 34 56 78'] }, days: 3 } }],
    },
    { role: 'tool', content: 'Sunny, 24 °C. Report sent to jane.doe@example.com', toolCallId: 'call_0a1b2c3d', toolName: 'get_weather' },
  ],
  options: { temperature: 0.2, num_ctx: 4096 },
  tools: [
    { name: 'get_weather', description: 'Weather for a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } },
    { name: 'book_hotel', parameters: { type: 'object', properties: {} } },
  ],
  toolChoice: { name: 'book_hotel' },
  parallelToolCalls: false,
  think: 'high',
  keepAlive: '5m',
  logprobs: true,
  topLogprobs: 2,
});

/** Runs the agent chat through the app's ChatService and the Ollama adapter to the fake over HTTP; the stored id. */
async function runAgentChat(t: TestApp): Promise<number> {
  for await (const event of t.app.get(ChatService).run(
    { prompt: 'Where was this photo taken?', sessionId: 'agent-session', source: 'api', request: agentRequest() },
    new Cancellation(),
  )) {
    if (event.type === 'done') return event.result.conversationId!;
  }
  throw new Error('the chat ended without done');
}

/** One exchange of each kind, feedback on one: everything an export has to carry. */
async function fillHistory(t: TestApp): Promise<void> {
  const chat = await (await t.request('/chat', { body: { prompt: 'hello there', session_id: 'plain', options: { temperature: 0.1 } } })).json();
  await t.request('/feedback', { body: { conversation_id: chat.conversation_id, rating: 5, tags: 'good,short', notes: 'fine', reviewed: true } });
  await runAgentChat(t);
  // A tool round trip through the OpenAI-compatible route: the assistant's call and the tool's result sent back.
  const v1 = await t.request('/v1/chat/completions', {
    body: {
      model: 'qwen3',
      messages: [
        { role: 'user', content: 'Weather in Lyon?' },
        { role: 'assistant', content: null, tool_calls: [{ id: 'call_v1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Lyon"}' } }] },
        { role: 'tool', tool_call_id: 'call_v1', content: 'Sunny' },
      ],
      tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }],
      reasoning_effort: 'low',
    },
  });
  expect(v1.status).toBe(200);
  const store = t.app.get(ConversationsService);
  await store.record({
    prompt: 'two texts',
    response: '',
    source: 'openai',
    sessionId: null,
    model: 'nomic-embed-text',
    status: 'ok',
    promptTokens: 6,
    kind: 'embedding',
    request: storedEmbeddingRequest({ model: 'nomic-embed-text', input: ['first text', 'second text'], dimensions: 4 }),
    answer: storedEmbeddingAnswer({ embeddings: [[0.1, 0.2, 0.3, 0.4], [0.5, 0.6, 0.7, 0.8]] }),
  });
  await store.record({
    prompt: 'def add(a, b):',
    response: '\n    return a + b',
    source: 'openai',
    sessionId: null,
    model: 'mistral',
    status: 'ok',
    kind: 'completion',
    request: storedCompletionRequest({ model: 'mistral', prompt: 'def add(a, b):', suffix: '\n\nprint(add(1, 2))', options: { temperature: 0 } }),
    answer: storedAnswer({ response: '\n    return a + b', finishReason: 'stop' }),
  });
}

async function* toLines(lines: string[]): AsyncGenerator<string> {
  yield* lines;
}

const withoutId = ({ id: _id, ...rest }: { id: number }) => rest;

async function exportLines(t: TestApp, query = ''): Promise<string[]> {
  const res = await t.request(`/admin/export${query}`);
  expect(res.status).toBe(200);
  return (await res.text()).trimEnd().split('\n');
}

describe('Export and import of the whole exchange', () => {
  const fake = new FakeOllama({
    models: ['mistral', { name: 'qwen3', capabilities: ['completion', 'tools', 'thinking', 'vision'] }],
    // The /v1 round trip (its tool's result is just "Sunny") gets a plain answer; the agent its call.
    respond: (req) => (!req.tools ? {} : req.messages?.at(-1)?.content === 'Sunny' ? { content: 'Sunny in Lyon today.' } : AGENT_ANSWER),
  });
  const apps: TestApp[] = [];
  const dirs: ReturnType<typeof tempDir>[] = [];
  const start = async (env: Record<string, string> = {}) => {
    const t = await startTestApp({ OLLAMA_URL: fake.url, ...env });
    apps.push(t);
    return t;
  };
  /** `vega db import FILE` in its own process, on the database file of `into` (which keeps serving). */
  const importFile = (into: TestApp, lines: string[], env: Record<string, string> = {}) => {
    const dir = tempDir('vega-import-');
    dirs.push(dir);
    const file = join(dir.dir, 'export.jsonl');
    writeFileSync(file, `${lines.join('\n')}\n`);
    return runVega(['db', 'import', file, '--json'], { env: { VEGA_DATA_DIR: into.dataDir, OLLAMA_URL: fake.url, ...into.databaseEnv, ...env } });
  };
  beforeAll(() => fake.start());
  afterAll(() => fake.stop());
  afterEach(async () => {
    for (const t of apps.splice(0)) await t.close();
    for (const dir of dirs.splice(0)) dir.remove();
    fake.reset();
  });

  describe('GET /admin/export', () => {
    it('carries kind, the whole request and the whole answer of every exchange, as GET /conversations/{id} has them', async () => {
      const t = await start();
      await fillHistory(t);
      const rows = (await exportLines(t)).map((line) => JSON.parse(line));
      expect(rows.map((row) => row.kind)).toEqual(['completion', 'embedding', 'chat', 'chat', 'chat']);
      for (const row of rows) expect(row).toEqual(await (await t.request(`/conversations/${row.id}`)).json());
      const v1 = rows[2];
      expect(v1.source).toBe('openai');
      expect(v1.request.messages[1].tool_calls).toEqual([{ id: 'call_v1', name: 'get_weather', arguments: { city: 'Lyon' } }]);
      expect(v1.request.messages[2]).toMatchObject({ role: 'tool', content: 'Sunny', tool_call_id: 'call_v1' });
      const agent = rows[3];
      expect(agent.request.messages.map((message: { role: string }) => message.role)).toEqual(['system', 'user', 'assistant', 'tool']);
      expect(agent.request.messages[1].images).toEqual([{ mime: 'image/png', bytes: PNG.length, sha256: IMAGE.sha256 }]);
      expect(agent.answer).toMatchObject({ thinking: AGENT_ANSWER.thinking, tool_calls: [expect.objectContaining({ name: 'book_hotel' })], finish_reason: 'tool_calls' });
      // The filters still apply, search by a tool's argument included.
      expect((await exportLines(t, '?q=Villeurbanne')).map((line) => JSON.parse(line).id)).toEqual([agent.id]);
      expect((await exportLines(t, '?tags=good')).map((line) => JSON.parse(line).request.messages[0].content)).toEqual(['hello there']);
    });

    it('reads light and heavy exchanges in batches sized by their weight without repeating or losing one', async () => {
      const t = await start();
      // Every tenth row carries a 300,000-character conversation: batches shrink and grow again.
      await execDb(
        t.dbPath,
        `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1500)
         INSERT INTO conversations (prompt, response, request)
         SELECT 'row ' || i, 'r', '{"model":"m","messages":[{"role":"user","content":"' || CASE WHEN i % 10 = 0 THEN ? ELSE 'short' END || '"}]}' FROM n`,
        [randomBytes(150_000).toString('hex')],
      );
      const rows = (await exportLines(t)).map((line) => JSON.parse(line));
      expect(rows.map((row) => row.id)).toEqual(Array.from({ length: 1500 }, (_, index) => 1500 - index));
      expect(rows.filter((row) => row.request.messages[0].content.length === 300_000)).toHaveLength(150);
    });
  });

  describe('vega db import of an export', () => {
    it('into a fresh database gives the same GET /conversations/{id} answers, searchable by tool', async () => {
      const source = await start();
      await fillHistory(source);
      const exported = await exportLines(source);
      // `vega db export` writes the same lines.
      const cli = await runVega(['db', 'export'], { env: { VEGA_DATA_DIR: source.dataDir, OLLAMA_URL: fake.url, ...source.databaseEnv } });
      expect(cli.stdout.trimEnd().split('\n')).toEqual(exported);
      const target = await start();
      const result = await importFile(target, exported);
      expect(result.stderr).toBe('');
      expect(JSON.parse(result.stdout)).toEqual({ imported: 5 });
      // The file is newest first and is imported in its order: line i becomes id i + 1.
      for (const [index, line] of exported.entries()) {
        const original = await (await source.request(`/conversations/${JSON.parse(line).id}`)).json();
        const restored = await (await target.request(`/conversations/${index + 1}`)).json();
        expect(withoutId(restored)).toEqual(withoutId(original));
      }
      // Tool names and arguments are search words again.
      const hits = (await (await target.request('/history?q=Villeurbanne')).json()).items;
      expect(hits.map((hit: { id: number }) => hit.id)).toEqual([4]);
      expect((await (await target.request('/history?q=get_weather')).json()).items).toHaveLength(2);
    });

    it('keeps the image bytes when both ends store them (STORE_IMAGES=true), and only references otherwise', async () => {
      const source = await start({ STORE_IMAGES: 'true' });
      await runAgentChat(source);
      const exported = await exportLines(source);
      expect(JSON.parse(exported[0]).request.messages[1].images[0].data).toBe(IMAGE.data);
      const keeping = await start({ STORE_IMAGES: 'true' });
      expect((await importFile(keeping, exported, { STORE_IMAGES: 'true' })).code).toBe(0);
      expect(withoutId(await (await keeping.request('/conversations/1')).json())).toEqual(withoutId(JSON.parse(exported[0])));
      const referencing = await start();
      expect((await importFile(referencing, exported)).code).toBe(0);
      const restored = await (await referencing.request('/conversations/1')).json();
      expect(restored.request.messages[1].images).toEqual([{ mime: 'image/png', bytes: PNG.length, sha256: IMAGE.sha256 }]);
    });

    it('masks every text of the request and the answer with PII_MASKING=true, as the chat path does', async () => {
      const source = await start();
      await runAgentChat(source);
      const exported = await exportLines(source);
      expect(exported[0]).toContain('jane.doe@example.com');
      const target = await start({ PII_MASKING: 'true' });
      expect((await importFile(target, exported, { PII_MASKING: 'true' })).code).toBe(0);
      const body = await (await target.request('/conversations/1')).json();
      const [, user, assistant, tool] = body.request.messages;
      expect(user.content).toBe('Where was this photo taken? Mail me at [EMAIL]');
      expect(assistant.thinking).toBe('The photo shows Fourvière. Her card is [CARD].');
      expect(assistant.tool_calls[0].arguments).toEqual({ city: 'Lyon', contact: { email: '[EMAIL]', phones: ['[PHONE]'] }, days: 3 });
      expect(tool.content).toBe('Sunny, 24 °C. Report sent to [EMAIL]');
      expect(body.answer.thinking).toBe('Fourvière is in Lyon; book near it for [EMAIL].');
      expect(body.answer.tool_calls[0].arguments).toEqual({ town: 'Villeurbanne', guest: { email: '[EMAIL]' }, nights: 2 });
      const rows = await queryDb<Record<string, string>>(target.dbPath, 'SELECT prompt, response, request, answer, tool_text FROM conversations');
      expect(JSON.stringify(rows)).not.toContain('jane.doe');
      expect(JSON.stringify(rows)).not.toContain('4111');
    });

    it('imports an export made before Vega kept the whole exchange as chats without request or answer', async () => {
      const target = await start();
      const old = { id: 7, ts: '2026-11-24T10:15:30.123Z', prompt: 'legacy', response: 'row', source: 'cli', session_id: 's', rating: null, tags: null, notes: null, reviewed: false, model: 'mistral', status: 'ok', prompt_tokens: 3, completion_tokens: 1, duration_ms: 10, ttft_ms: 2 };
      expect((await importFile(target, [JSON.stringify(old)])).code).toBe(0);
      expect(await (await target.request('/conversations/1')).json()).toEqual({ ...old, id: 1, kind: 'chat', key_id: null, model_ms: null, request: null, answer: null, response_id: null, served_model: null, target: null });
    });

    const good = JSON.stringify({ prompt: 'fine', response: 'row' });
    const line = (fields: Record<string, unknown>) => JSON.stringify({ prompt: 'p', response: 'r', ...fields });
    let nested: unknown = 'deep';
    for (let level = 0; level < 70; level += 1) nested = { level: nested };
    it.each([
      ['kind', { kind: 'chatty' }, 'line 2: kind must be one of chat, embedding, completion'],
      ['request', { request: 'messages' }, 'line 2: request must be an object'],
      ['request.model', { request: { messages: [] } }, 'line 2: request.model is required'],
      ['request.messages.0.role', { request: { model: 'm', messages: [{ role: 'robot', content: 'x' }] } }, 'line 2: request.messages.0.role must be one of system, user, assistant, tool'],
      ['request.messages.0.toolCalls', { request: { model: 'm', messages: [{ role: 'user', content: 'x', toolCalls: [] }] } }, 'line 2: request.messages.0.toolCalls is not a field Vega stores'],
      ['request.messages.0.tool_calls.0.arguments', { request: { model: 'm', messages: [{ role: 'assistant', content: '', tool_calls: [{ id: 'c', name: 'f', arguments: '{}' }] }] } }, 'line 2: request.messages.0.tool_calls.0.arguments must be an object'],
      ['request.messages.0.images.0.sha256', { request: { model: 'm', messages: [{ role: 'user', content: 'x', images: [{ mime: 'image/png', bytes: 3, sha256: 'nope' }] }] } }, 'line 2: request.messages.0.images.0.sha256 must be a hex SHA-256'],
      ['request.tool_choice', { request: { model: 'm', tool_choice: 'always' } }, 'line 2: request.tool_choice must be one of auto, none, required or {"name": …}'],
      ['request.think', { request: { model: 'm', think: 'hard' } }, 'line 2: request.think must be true, false or one of low, medium, high, max'],
      ['request depth', { request: { model: 'm', options: { deep: nested } } }, 'line 2: request is nested deeper than 64 levels'],
      ['answer.tool_calls.0.name', { answer: { text: 'x', tool_calls: [{ id: 'c', arguments: {} }] } }, 'line 2: answer.tool_calls.0.name is required'],
      ['answer.logprobs', { answer: { text: 'x', logprobs: [] } }, 'line 2: answer.logprobs is not a field Vega stores'],
    ])('refuses a bad %s naming the line and the field, importing nothing of its batch', async (_field, fields, message) => {
      const target = await start();
      const importing = target.app.get(DatabaseAdminService).importConversations(toLines([good, line(fields)]));
      await expect(importing).rejects.toThrow(InvalidInputError);
      await expect(importing).rejects.toThrow(message);
      expect(await queryDb(target.dbPath, 'SELECT count(*) AS n FROM conversations')).toEqual([{ n: 0 }]);
    });

    it('exits with code 2 and the line and field on stderr for a bad line', async () => {
      const target = await start();
      const result = await importFile(target, [good, line({ request: { model: 'm', messages: [{ role: 'robot', content: 'x' }] } })]);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain('line 2: request.messages.0.role must be one of system, user, assistant, tool');
      expect(await queryDb(target.dbPath, 'SELECT count(*) AS n FROM conversations')).toEqual([{ n: 0 }]);
    });
  });
});
