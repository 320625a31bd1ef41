import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { Cancellation } from '../../src/common/async/cancellation';
import type { BackendChatRequest, ImageInput } from '../../src/core/llm/llm-backend';
import { ConversationsService } from '../../src/core/persistence/conversations.service';
import { buildDataSourceOptions } from '../../src/core/persistence/data-source-options';
import { MIGRATIONS } from '../../src/core/persistence/migrations/index';
import { storedAnswer, storedRequest } from '../../src/core/persistence/stored-exchange';
import { ChatService } from '../../src/modules/chat/chat.service';
import { execDb } from '../support/seed';
import { queryDb } from '../support/sqlite';
import { holdExclusiveLock, HeldLock } from '../support/sqlite-lock';
import { FakeOllama, type FakeAnswer } from '../support/fake-ollama';
import { startTestApp, tempDir, TestApp } from '../support/test-app';
import { itSqliteOnly } from '../support/test-database';

/** A 1×1 PNG. */
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');
const IMAGE: ImageInput = { mime: 'image/png', data: PNG.toString('base64'), bytes: PNG.length, sha256: createHash('sha256').update(PNG).digest('hex') };

/** A model that can do everything the request below asks for. */
const AGENT_MODEL = { name: 'qwen3', capabilities: ['completion', 'tools', 'thinking', 'vision'] as const };

/** What the model answers a request that offers tools: reasoning, a word, and a call with nested arguments. */
const AGENT_ANSWER: FakeAnswer = {
  thinking: 'Fourvière is in Lyon; book near it for jane.doe@example.com.',
  content: 'Booking now.',
  toolCalls: [{ name: 'book_hotel', arguments: { town: 'Villeurbanne', guest: { email: 'jane.doe@example.com' }, nights: 2 } }],
};

/** A request as a tool-using agent sends it: an image, an earlier turn with thinking and a tool call, the tool's result. */
function agentRequest(model = AGENT_MODEL.name): BackendChatRequest {
  return {
    model,
    messages: [
      { role: 'system', content: 'You are a travel agent.' },
      { role: 'user', content: 'Where was this photo taken, and what is the weather there? Mail me at jane.doe@example.com', images: [IMAGE] },
      {
        role: 'assistant',
        content: '',
        thinking: 'The photo shows Fourvière; ask the weather tool. Her card is 4111 1111 1111 1111.',
        toolCalls: [{ id: 'call_0a1b2c3d', name: 'get_weather', arguments: { city: 'Lyon', contact: { email: 'jane.doe@example.com', phones: ['+33 6 12 34 56 78'] }, days: 3 } }],
      },
      { role: 'tool', content: 'Sunny, 24 °C. Report sent to jane.doe@example.com', toolCallId: 'call_0a1b2c3d', toolName: 'get_weather' },
    ],
    options: { temperature: 0.2, num_ctx: 4096 },
    tools: [
      { name: 'get_weather', description: 'Weather for a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } },
      { name: 'book_hotel', parameters: { type: 'object', properties: {} } },
    ],
    toolChoice: 'auto',
    parallelToolCalls: false,
    format: { schema: { type: 'object' }, name: 'answer', strict: true },
    think: 'high',
    keepAlive: '5m',
    logprobs: true,
    topLogprobs: 2,
  };
}

/**
 * Runs the chat through the app's own ChatService and the Ollama adapter to the fake over HTTP
 * (the routes that take tools are another package's); resolves with the stored id.
 */
async function runChat(t: TestApp, request: BackendChatRequest, prompt: string): Promise<number | null> {
  const chat = t.app.get(ChatService);
  for await (const event of chat.run({ prompt, sessionId: 'agent-session', source: 'api', request }, new Cancellation())) {
    if (event.type === 'done') return event.result.conversationId;
  }
  throw new Error('the chat ended without done');
}

/** Stores an answered tool-using exchange straight through the app's ConversationsService, as a route does. */
function recordToolExchange(t: TestApp, request = agentRequest()): Promise<number | null> {
  return t.app.get(ConversationsService).record({
    prompt: 'Where was this photo taken?',
    response: '',
    source: 'openai',
    sessionId: 'agent-session',
    model: request.model,
    status: 'ok',
    promptTokens: 40,
    completionTokens: 12,
    kind: 'chat',
    request: storedRequest(request),
    answer: storedAnswer({
      response: '',
      thinking: 'Booking for jane.doe@example.com',
      toolCalls: [{ id: 'call_9z8y7x6w', name: 'book_hotel', arguments: { town: 'Villeurbanne', guest: { email: 'jane.doe@example.com' }, nights: 2 } }],
      finishReason: 'tool_calls',
    }),
  });
}

async function eventually<T>(check: () => Promise<T | undefined>, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('The stored exchange', () => {
  const fake = new FakeOllama({ models: ['mistral', { ...AGENT_MODEL, capabilities: [...AGENT_MODEL.capabilities] }], respond: (req) => (req.tools ? AGENT_ANSWER : {}) });
  let current: TestApp | undefined;
  beforeAll(() => fake.start());
  afterAll(() => fake.stop());
  afterEach(async () => {
    await current?.close();
    current = undefined;
    fake.reset();
  });
  const env = {
    start: async (settings: Record<string, string> = {}) => (current = await startTestApp({ OLLAMA_URL: fake.url, ...settings })),
  };

  describe('GET /conversations/{id}', () => {
    it('returns the kind, the whole request and the whole answer of a POST /chat', async () => {
      const t = await env.start();
      const chat = await (await t.request('/chat', { body: { prompt: 'hello there', options: { temperature: 0.1 } } })).json();
      const res = await t.request(`/conversations/${chat.conversation_id}`);
      expect(res.status).toBe(200);
      const body = await res.json();
      expect(body).toMatchObject({ id: chat.conversation_id, prompt: 'hello there', response: 'Echo: hello there', kind: 'chat', status: 'ok' });
      expect(body.request).toEqual({
        model: 'mistral',
        messages: [{ role: 'user', content: 'hello there' }],
        options: expect.objectContaining({ temperature: 0.1 }),
      });
      expect(body.answer).toEqual({ text: 'Echo: hello there', finish_reason: 'stop' });
      // Token usage is in the row's own fields, not repeated in the answer.
      expect(body.prompt_tokens).toEqual(expect.any(Number));
    });

    it('is documented in the OpenAPI document with kind, request and answer', async () => {
      const t = await env.start();
      const document = await (await t.request('/docs-json', { key: null })).json();
      const ok = document.paths['/conversations/{id}'].get.responses['200'].content['application/json'].schema;
      expect(ok).toEqual({ $ref: '#/components/schemas/ConversationExchangeDto' });
      const { properties } = document.components.schemas.ConversationExchangeDto;
      expect(Object.keys(properties)).toEqual(expect.arrayContaining(['prompt', 'response', 'kind', 'request', 'answer']));
      expect(Object.keys(document.components.schemas.StoredMessageDto.properties)).toEqual(
        expect.arrayContaining(['images', 'thinking', 'tool_calls', 'tool_call_id', 'tool_name']),
      );
    });

    it('stores the partial answer of an aborted stream with its request', async () => {
      const t = await env.start();
      const chat = t.app.get(ChatService);
      const prepared = await chat.prepare({ prompt: 'one two three four five six', source: 'api' });
      const cancel = new Cancellation();
      let text = '';
      for await (const event of chat.run(prepared, cancel)) {
        if (event.type === 'token') text += event.text;
        if (text.length > 0) break; // the consumer leaves after the first token, as a client closing its socket
      }
      const [row] = await queryDb<{ status: string; request: string; answer: string }>(t.dbPath, 'SELECT status, request, answer FROM conversations');
      expect(row.status).toBe('aborted');
      expect(JSON.parse(row.request).messages).toEqual([{ role: 'user', content: 'one two three four five six' }]);
      // Partial: what had arrived, without a finish reason (the answer did not end on its own).
      expect(JSON.parse(row.answer)).toEqual({ text });
    });

    it('stores a chat whose request has tools, tool calls, tool results, images and thinking, whole, images as references', async () => {
      const t = await env.start();
      const id = await runChat(t, agentRequest(), 'Where was this photo taken?');
      const body = await (await t.request(`/conversations/${id}`)).json();
      expect(body).toMatchObject({ kind: 'chat', model: 'qwen3', status: 'ok', prompt: 'Where was this photo taken?', response: 'Booking now.' });
      expect(body.request).toEqual({
        model: 'qwen3',
        messages: [
          { role: 'system', content: 'You are a travel agent.' },
          {
            role: 'user',
            content: 'Where was this photo taken, and what is the weather there? Mail me at jane.doe@example.com',
            images: [{ mime: 'image/png', bytes: PNG.length, sha256: IMAGE.sha256 }],
          },
          {
            role: 'assistant',
            content: '',
            thinking: 'The photo shows Fourvière; ask the weather tool. Her card is 4111 1111 1111 1111.',
            tool_calls: [{ id: 'call_0a1b2c3d', name: 'get_weather', arguments: { city: 'Lyon', contact: { email: 'jane.doe@example.com', phones: ['+33 6 12 34 56 78'] }, days: 3 } }],
          },
          { role: 'tool', content: 'Sunny, 24 °C. Report sent to jane.doe@example.com', tool_call_id: 'call_0a1b2c3d', tool_name: 'get_weather' },
        ],
        options: { temperature: 0.2, num_ctx: 4096 },
        tools: agentRequest().tools,
        tool_choice: 'auto',
        parallel_tool_calls: false,
        format: { schema: { type: 'object' }, name: 'answer', strict: true },
        think: 'high',
        keep_alive: '5m',
        logprobs: true,
        top_logprobs: 2,
      });
      expect(body.answer).toEqual({
        text: 'Booking now.',
        thinking: 'Fourvière is in Lyon; book near it for jane.doe@example.com.',
        tool_calls: [{ id: expect.stringMatching(/^call_/), name: 'book_hotel', arguments: { town: 'Villeurbanne', guest: { email: 'jane.doe@example.com' }, nights: 2 } }],
        finish_reason: 'tool_calls',
      });
      // The adapter sent all of it to the model (the image as Ollama's base64).
      const sent = fake.chatRequests().at(-1)!.body;
      expect(sent.tools).toHaveLength(2);
      expect(sent.messages[1].images).toEqual([IMAGE.data]);
      // No byte of the image anywhere in the row.
      const [row] = await queryDb<{ request: string }>(t.dbPath, 'SELECT request FROM conversations WHERE id = ?', [id]);
      expect(row.request).not.toContain(IMAGE.data.slice(0, 40));
    });

    it('keeps the image bytes with STORE_IMAGES=true', async () => {
      const t = await env.start({ STORE_IMAGES: 'true' });
      const id = await runChat(t, agentRequest(), 'Where was this photo taken?');
      const body = await (await t.request(`/conversations/${id}`)).json();
      expect(body.request.messages[1].images).toEqual([{ mime: 'image/png', bytes: PNG.length, sha256: IMAGE.sha256, data: IMAGE.data }]);
    });

    it("returns the answer's thinking and tool calls", async () => {
      const t = await env.start();
      const id = await recordToolExchange(t);
      const body = await (await t.request(`/conversations/${id}`)).json();
      expect(body.answer).toEqual({
        text: '',
        thinking: 'Booking for jane.doe@example.com',
        tool_calls: [{ id: 'call_9z8y7x6w', name: 'book_hotel', arguments: { town: 'Villeurbanne', guest: { email: 'jane.doe@example.com' }, nights: 2 } }],
        finish_reason: 'tool_calls',
      });
      expect(body).toMatchObject({ prompt_tokens: 40, completion_tokens: 12, source: 'openai' });
    });
  });

  describe('with PII_MASKING=true', () => {
    it('masks every text of the request and the answer: contents, thinking, tool arguments at any depth and tool results', async () => {
      const t = await env.start({ PII_MASKING: 'true' });
      const chatId = await runChat(t, agentRequest(), 'Where was this photo taken? jane.doe@example.com');
      const chat = await (await t.request(`/conversations/${chatId}`)).json();
      expect(chat.prompt).toBe('Where was this photo taken? [EMAIL]');
      const [, user, assistant, tool] = chat.request.messages;
      expect(user.content).toBe('Where was this photo taken, and what is the weather there? Mail me at [EMAIL]');
      expect(assistant.thinking).toBe('The photo shows Fourvière; ask the weather tool. Her card is [CARD].');
      expect(assistant.tool_calls[0].arguments).toEqual({ city: 'Lyon', contact: { email: '[EMAIL]', phones: ['[PHONE]'] }, days: 3 });
      expect(tool.content).toBe('Sunny, 24 °C. Report sent to [EMAIL]');
      expect(chat.answer.thinking).toBe('Fourvière is in Lyon; book near it for [EMAIL].');
      expect(chat.answer.tool_calls[0].arguments).toEqual({ town: 'Villeurbanne', guest: { email: '[EMAIL]' }, nights: 2 });
      // Nothing of it left in the database file's rows, the search words included.
      const rows = await queryDb<Record<string, string>>(t.dbPath, 'SELECT request, answer, tool_text FROM conversations');
      expect(JSON.stringify(rows)).not.toContain('jane.doe');
      expect(JSON.stringify(rows)).not.toContain('4111');
    });
  });

  describe('search (GET /history?q=)', () => {
    it('finds an exchange by the name of a tool it called and by an argument value', async () => {
      const t = await env.start();
      await t.request('/chat', { body: { prompt: 'unrelated chat about tides' } });
      const id = await runChat(t, agentRequest(), 'Where was this photo taken?');
      for (const q of ['book_hotel', 'Villeurbanne', 'get_weather', '"get_weather"', 'Lyon']) {
        const body = await (await t.request(`/history?q=${encodeURIComponent(q)}`)).json();
        expect({ q, ids: body.items.map((item: { id: number }) => item.id) }).toEqual({ q, ids: [id] });
      }
      const [hit] = (await (await t.request('/history?q=Villeurbanne')).json()).items;
      expect(hit.snippet).toContain('<mark>Villeurbanne</mark>');
      // Still by prompt and response, and the tool words go when the exchange goes.
      expect((await (await t.request('/history?q=tides')).json()).items).toHaveLength(1);
      expect((await t.request(`/conversations/${id}`, { method: 'DELETE' })).status).toBe(204);
      expect((await (await t.request('/history?q=Villeurbanne')).json()).items).toEqual([]);
    });
  });

  describe('the spool', () => {
    let lock: HeldLock | undefined;
    afterEach(async () => {
      await lock?.release();
      lock = undefined;
    });

    itSqliteOnly('keeps the request and the answer of an exchange spooled while the database is locked, and stores them on replay', "it sends the exchange to the spool by holding SQLite's file lock from another process", async () => {
      const t = await env.start({ DB_BUSY_TIMEOUT_SEC: '0.2', DB_WRITE_WAIT_SEC: '1', PII_MASKING: 'true' });
      lock = await holdExclusiveLock(t.dbPath);
      const chat = await (await t.request('/chat', { body: { prompt: 'spooled whole' } })).json();
      expect(chat.conversation_pending).toBe(true);
      expect(await recordToolExchange(t)).toBeNull();
      const spool = readFileSync(join(t.dataDir, 'pending-exchanges.jsonl'), 'utf8');
      expect(spool).toContain('book_hotel');
      expect(spool).not.toContain('jane.doe'); // masked before it is spooled
      await lock.release();
      const rows = await eventually(async () => {
        const found = await queryDb<{ id: number; prompt: string; kind: string; request: string; answer: string }>(
          t.dbPath,
          'SELECT id, prompt, kind, request, answer FROM conversations ORDER BY id',
        );
        return found.length === 2 ? found : undefined;
      }, 'the spooled exchanges to be stored');
      await eventually(async () => (existsSync(join(t.dataDir, 'pending-exchanges.jsonl')) ? undefined : true), 'the spool to be emptied');
      const [plain, tool] = rows;
      expect(plain.kind).toBe('chat');
      expect(JSON.parse(plain.request).messages).toEqual([{ role: 'user', content: 'spooled whole' }]);
      expect(JSON.parse(plain.answer)).toEqual({ text: 'Echo: spooled whole', finishReason: 'stop' });
      const body = await (await t.request(`/conversations/${tool.id}`)).json();
      expect(body.request.tools.map((tool: { name: string }) => tool.name)).toEqual(['get_weather', 'book_hotel']);
      expect(body.request.messages[1].images).toEqual([{ mime: 'image/png', bytes: PNG.length, sha256: IMAGE.sha256 }]);
      expect(body.answer.tool_calls[0]).toEqual({ id: 'call_9z8y7x6w', name: 'book_hotel', arguments: { town: 'Villeurbanne', guest: { email: '[EMAIL]' }, nights: 2 } });
      // …and it is searchable by its tools like any other.
      expect((await (await t.request('/history?q=Villeurbanne')).json()).items.map((item: { id: number }) => item.id)).toEqual([tool.id]);
    });
  });
});

describe('the whole-exchange migration', () => {
  it('keeps the rows of a database made before it, searchable, as chats without request or answer', async () => {
    const { dir, remove } = tempDir();
    const path = `${dir}/old.db`;
    try {
      const options = buildDataSourceOptions({ database: { type: 'sqlite', path } });
      const before = MIGRATIONS.slice(0, MIGRATIONS.findIndex((migration) => migration.name === 'StoreWholeExchange1800000000000'));
      const old = await new DataSource({ ...options, migrations: before }).initialize();
      await old.query(`INSERT INTO conversations (prompt, response, source, model, status) VALUES ('legacy question about tides', 'the moon', 'cli', 'mistral', 'ok')`);
      await old.query(`INSERT INTO conversations (prompt, response, source, model, status) VALUES ('second legacy row', 'about harbours', 'api', 'mistral', 'error')`);
      await old.destroy();
      const t = await startTestApp({ DATABASE_URL: `sqlite:${path}`, OLLAMA_URL: 'http://127.0.0.1:9' });
      try {
        const tides = await (await t.request('/history?q=tides')).json();
        expect(tides.items).toEqual([expect.objectContaining({ id: 1, source: 'cli', snippet: 'legacy question about <mark>tides</mark>' })]);
        expect((await (await t.request('/history?q=harbours')).json()).items.map((item: { id: number }) => item.id)).toEqual([2]);
        expect(await (await t.request('/conversations/1')).json()).toMatchObject({ prompt: 'legacy question about tides', kind: 'chat', request: null, answer: null });
        // New rows next to the old ones are searchable by their tools.
        const id = await recordToolExchange(t);
        expect((await (await t.request('/history?q=book_hotel')).json()).items.map((item: { id: number }) => item.id)).toEqual([id]);
        // Feedback on an old row does not disturb the index.
        await t.request('/feedback', { body: { conversation_id: 1, rating: 5 } });
        expect((await (await t.request('/history?q=tides')).json()).items).toHaveLength(1);
      } finally {
        await t.close();
      }
      // The rebuilt index agrees with the table (FTS5 fails the statement otherwise).
      await expect(execDb(path, `INSERT INTO conversations_fts (conversations_fts, rank) VALUES ('integrity-check', 1)`)).resolves.toBeDefined();
    } finally {
      remove();
    }
  });

  it('can be undone, back to the two-column index', async () => {
    const { dir, remove } = tempDir();
    const path = `${dir}/undo.db`;
    try {
      const data = await new DataSource(buildDataSourceOptions({ database: { type: 'sqlite', path } })).initialize();
      await data.query(`INSERT INTO conversations (prompt, response, source, tool_text) VALUES ('kept prompt', 'kept answer', 'api', 'get_weather')`);
      // Undo the later migrations too, down to and including this one.
      const applied = async () => ((await data.query(`SELECT name FROM migrations`)) as { name: string }[]).map((row) => row.name);
      while ((await applied()).includes('StoreWholeExchange1800000000000')) await data.undoLastMigration();
      const columns = ((await data.query(`PRAGMA table_info(conversations)`)) as { name: string }[]).map((column) => column.name);
      expect(columns).not.toEqual(expect.arrayContaining(['kind']));
      expect(await data.query(`SELECT rowid FROM conversations_fts WHERE conversations_fts MATCH 'kept'`)).toEqual([{ rowid: 1 }]);
      await data.destroy();
    } finally {
      remove();
    }
  });
});
