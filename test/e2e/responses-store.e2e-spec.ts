import OpenAI, { APIError, BadRequestError, NotFoundError, PermissionDeniedError, RateLimitError, type ClientOptions } from 'openai';
import { DataSource } from 'typeorm';
import { Agent, fetch as undiciFetch } from 'undici';
import { buildDataSourceOptions } from '../../src/core/persistence/data-source-options';
import { parseExportLine } from '../../src/modules/admin/conversation-import';
import { ConversationHistoryRepository } from '../../src/core/persistence/conversation-history.repository';
import { FakeOllama, type ChatRequestBody, type FakeAnswer } from '../support/fake-ollama';
import { dataUrl, PNG } from '../support/images';
import { execDb } from '../support/seed';
import { queryDb } from '../support/sqlite';
import { holdExclusiveLock } from '../support/sqlite-lock';
import { openSse, type SseEvent } from '../support/sse-client';
import { ShutdownSignal } from '../../src/common/lifecycle/shutdown-signal';
import { scopedKeys, startTestApp, tempDir, TEST_API_KEY, TestApp } from '../support/test-app';
import { failureOf } from '../support/failure';
import { itSqliteOnly } from '../support/test-database';

interface Row {
  id: number;
  status: string;
  response: string;
  response_id: string | null;
}

/** Answers plain text to a prompt that asks for it, whatever the requested format. */
function respond(req: ChatRequestBody): FakeAnswer {
  return String(req.messages?.at(-1)?.content).includes('ignore the schema') ? { content: 'not json at all' } : {};
}

async function waitFor(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** /v1/responses and the store: images, strict output, cancellation, what can be continued, export and import of the response id. */
describe('/v1/responses: stored exchanges', () => {
  const fake = new FakeOllama({ models: ['mistral', { name: 'llava', capabilities: ['completion', 'vision'] }], respond });
  const agents: Agent[] = [];
  const apps: TestApp[] = [];

  const clientOf = (t: TestApp, apiKey: string) => {
    const agent = new Agent();
    agents.push(agent);
    return new OpenAI({
      baseURL: `${t.url}/v1`,
      apiKey,
      maxRetries: 0,
      timeout: 20_000,
      fetch: undiciFetch as unknown as typeof fetch,
      fetchOptions: { dispatcher: agent } as unknown as ClientOptions['fetchOptions'],
    });
  };

  const start = async (env: Record<string, string> = {}, options: Parameters<typeof startTestApp>[1] = {}) => {
    const t = await startTestApp({ OLLAMA_URL: fake.url, ...env }, options);
    apps.push(t);
    const client = clientOf(t, TEST_API_KEY);
    const rows = () => queryDb<Row>(t.dbPath, 'SELECT id, status, response, response_id FROM conversations ORDER BY id');
    return { t, client, rows };
  };

  beforeAll(async () => {
    await fake.start();
  });
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((app) => app.close()));
    await Promise.all(agents.splice(0).map((agent) => agent.destroy()));
    fake.reset();
  });
  afterAll(async () => {
    await fake.stop();
  });

  const failure = (call: () => Promise<unknown>): Promise<APIError> => failureOf(call, APIError);

  it('an input_image (data URL) reaches Ollama as an image; continuing it is refused while its bytes were not kept, and works with STORE_IMAGES', async () => {
    const ask = (client: OpenAI) =>
      client.responses.create({
        model: 'llava',
        input: [{ role: 'user', content: [{ type: 'input_text', text: 'What is this?' }, { type: 'input_image', image_url: dataUrl('image/png', PNG), detail: 'auto' }] }],
      });
    const plain = await start();
    const first = await ask(plain.client);
    expect((fake.chatRequests().at(-1)!.body as ChatRequestBody).messages!.at(-1)).toMatchObject({ role: 'user', content: 'What is this?', images: [PNG.toString('base64')] });
    const refused = await failure(() => plain.client.responses.create({ model: 'llava', previous_response_id: first.id, input: 'And its colour?' }));
    expect(refused).toBeInstanceOf(BadRequestError);
    expect(refused.error).toMatchObject({ param: 'previous_response_id', message: expect.stringContaining('STORE_IMAGES') });

    const keeping = await start({ STORE_IMAGES: 'true' });
    const kept = await ask(keeping.client);
    await keeping.client.responses.create({ model: 'llava', previous_response_id: kept.id, input: 'And its colour?' });
    expect((fake.chatRequests().at(-1)!.body as ChatRequestBody).messages).toEqual([
      expect.objectContaining({ role: 'user', content: 'What is this?', images: [PNG.toString('base64')] }),
      expect.objectContaining({ role: 'assistant', content: 'Echo: What is this?' }),
      expect.objectContaining({ role: 'user', content: 'And its colour?' }),
    ]);
  });

  it('text.format json_schema with strict: an answer that does not follow it is a 502 invalid_model_output, stored as error, and cannot be continued', async () => {
    const { client, rows } = await start();
    const format = { type: 'json_schema' as const, name: 'city', strict: true, schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } };
    const error = await failure(() => client.responses.create({ model: 'mistral', input: 'please ignore the schema', text: { format } }));
    expect(error.status).toBe(502);
    expect(error.error).toMatchObject({ code: 'invalid_model_output', param: 'text', message: expect.stringContaining('text.format.strict is true') });
    const [row] = await rows();
    expect(row).toMatchObject({ status: 'error', response: 'not json at all', response_id: expect.stringMatching(/^resp_/) });

    const retrieved = await client.responses.retrieve(row.response_id!);
    expect(retrieved).toMatchObject({ status: 'failed', error: { code: 'server_error' }, text: { format: { type: 'json_schema', name: 'city', strict: true } } });
    const continued = await failure(() => client.responses.create({ model: 'mistral', previous_response_id: row.response_id!, input: 'again' }));
    expect(continued).toBeInstanceOf(BadRequestError);
    expect(continued.error).toMatchObject({ param: 'previous_response_id', message: expect.stringContaining('did not complete') });
  });

  it('a client that leaves mid-stream cancels the generation upstream; the exchange is stored aborted and retrieved as cancelled', async () => {
    const { client, rows } = await start();
    fake.enqueue({ kind: 'slow', delayMs: 150 });
    const stream = await client.responses.create({ model: 'mistral', input: 'one two three four five six seven eight', stream: true });
    for await (const event of stream) if (event.type === 'response.output_text.delta') break; // the SDK aborts its request
    await fake.waitForAbort(0, 5000);
    await waitFor(async () => (await rows()).length === 1);
    const [row] = await rows();
    expect(row.status).toBe('aborted');
    expect(await client.responses.retrieve(row.response_id!)).toMatchObject({ status: 'cancelled' });
  });

  it('a shutdown ends an open stream with an error event (503 backend_unavailable) then response.failed; stored as aborted', async () => {
    const { t, rows } = await start();
    fake.enqueue({ kind: 'slow', delayMs: 150 });
    const sse = await openSse(`${t.url}/v1/responses`, {
      headers: { authorization: `Bearer ${TEST_API_KEY}` },
      body: { model: 'mistral', input: 'one two three four five six', stream: true },
    });
    const seen: SseEvent[] = [];
    for await (const event of sse.events) {
      seen.push(event);
      if (event.event === 'response.output_text.delta') break;
    }
    t.app.get(ShutdownSignal).begin();
    const rest = await sse.all();
    const [error, failed] = rest.slice(-2).map((event) => ({ event: event.event, data: JSON.parse(event.data) }));
    expect(error).toEqual({ event: 'error', data: { type: 'error', sequence_number: expect.any(Number), code: 'backend_unavailable', message: 'Vega is shutting down', param: null } });
    expect(failed).toMatchObject({ event: 'response.failed', data: { sequence_number: error.data.sequence_number + 1, response: { status: 'failed', error: { code: 'backend_unavailable' } } } });
    await fake.waitForAbort(0, 5000);
    await waitFor(async () => (await rows()).length === 1);
    expect((await rows())[0]).toMatchObject({ status: 'aborted' });
  });

  it('counts against the key\'s RATE_LIMIT_PER_MINUTE with the other routes: past it a RateLimitError with Retry-After', async () => {
    const { t, client } = await start({ RATE_LIMIT_PER_MINUTE: '2' });
    await client.responses.create({ model: 'mistral', input: 'one' });
    expect((await t.request('/chat', { body: { prompt: 'two' } })).status).toBe(200);
    const error = await failure(() => client.responses.create({ model: 'mistral', input: 'three' }));
    expect(error).toBeInstanceOf(RateLimitError);
    expect(error.code).toBe('rate_limit_exceeded');
    expect(Number(error.headers?.get('retry-after'))).toBeGreaterThan(0);
  });

  it('with PII_MASKING the exchange is stored masked, and a continuation is built from the masked conversation', async () => {
    const { client } = await start({ PII_MASKING: 'true' });
    const first = await client.responses.create({ model: 'mistral', input: 'Write to ada@example.com' });
    expect(first.output_text).toBe('Echo: Write to ada@example.com');
    await client.responses.create({ model: 'mistral', previous_response_id: first.id, input: 'Again' });
    expect((fake.chatRequests().at(-1)!.body as ChatRequestBody).messages!.slice(0, 2)).toEqual([
      expect.objectContaining({ role: 'user', content: 'Write to [EMAIL]' }),
      expect.objectContaining({ role: 'assistant', content: 'Echo: Write to [EMAIL]' }),
    ]);
  });

  it('a stored response belongs to the key that made it: another key cannot retrieve, delete or continue it; a key that reads all history can', async () => {
    const TEAM = 'team-key-0123456789abcdef';
    const OTHER = 'other-key-0123456789abcdef';
    const { t, client: admin } = await start({}, { keyStores: [scopedKeys({ [TEAM]: ['chat'], [OTHER]: ['chat'] })] });
    const team = clientOf(t, TEAM);
    const other = clientOf(t, OTHER);
    const created = await team.responses.create({ model: 'mistral', input: 'team secret' });
    expect(await team.responses.retrieve(created.id)).toMatchObject({ id: created.id });

    expect(await failure(() => other.responses.retrieve(created.id))).toBeInstanceOf(NotFoundError);
    expect(await failure(() => other.responses.delete(created.id))).toBeInstanceOf(NotFoundError);
    const continued = await failure(() => other.responses.create({ model: 'mistral', previous_response_id: created.id, input: 'tell me' }));
    expect(continued).toBeInstanceOf(NotFoundError);
    expect(continued.error).toMatchObject({ param: 'previous_response_id' });

    // The bootstrap key holds history:all.
    expect(await admin.responses.retrieve(created.id)).toMatchObject({ id: created.id });
    await team.responses.create({ model: 'mistral', previous_response_id: created.id, input: 'go on' });
    await team.responses.delete(created.id);
    expect(await failure(() => admin.responses.retrieve(created.id))).toBeInstanceOf(NotFoundError);

    // A response of no key (imported, or stored before keys were recorded) is as hidden from an
    // own-history key as in the history itself.
    const keyless = await admin.responses.create({ model: 'mistral', input: 'nobody\'s' });
    await execDb(t.dbPath, 'UPDATE conversations SET key_id = NULL WHERE response_id = ?', [keyless.id]);
    expect(await failure(() => team.responses.retrieve(keyless.id))).toBeInstanceOf(NotFoundError);
    expect(await admin.responses.retrieve(keyless.id)).toMatchObject({ id: keyless.id });
  });

  it('needs a key with the chat scope: another key gets a PermissionDeniedError (403, OpenAI shape) naming it', async () => {
    const RESEARCH = 'research-key-0123456789abcdef';
    const { t } = await start({}, { keyStores: [scopedKeys({ [RESEARCH]: ['research'] })] });
    const research = clientOf(t, RESEARCH);
    const refused = await failure(() => research.responses.create({ model: 'mistral', input: 'hi' }));
    expect(refused).toBeInstanceOf(PermissionDeniedError);
    expect(refused.message).toContain('chat scope');
    expect(await failure(() => research.responses.retrieve('resp_0123'))).toBeInstanceOf(PermissionDeniedError);
    expect(fake.chatRequests()).toHaveLength(0);
  });

  it('a conversation too long for the context is refused by the context guard before Ollama, naming input', async () => {
    const { client } = await start();
    // 7 × 400 words ≈ 5600 tokens by the estimate: more than the default context of 4096 (each message is within MAX_PROMPT_CHARS).
    const long = Array.from({ length: 400 }, () => 'lorem').join(' ');
    const input = [...Array.from({ length: 7 }, () => ({ role: 'user' as const, content: long })), { role: 'user' as const, content: 'Sum it up.' }];
    const error = await failure(() => client.responses.create({ model: 'mistral', input }));
    expect(error).toBeInstanceOf(BadRequestError);
    expect(error.error).toMatchObject({ code: 'context_length_exceeded', param: 'input' });
    expect(fake.chatRequests()).toHaveLength(0);
  });

  itSqliteOnly('a response whose exchange waits in the spool (database locked) keeps its id: once written, GET finds it', "it sends the exchange to the spool by holding SQLite's file lock from another process", async () => {
    const { t, client, rows } = await start({ DB_BUSY_TIMEOUT_SEC: '0.2', DB_WRITE_WAIT_SEC: '1' });
    const lock = await holdExclusiveLock(t.dbPath);
    let created: Awaited<ReturnType<OpenAI['responses']['create']>>;
    try {
      created = await client.responses.create({ model: 'mistral', input: 'spooled response' });
      expect(created.status).toBe('completed');
    } finally {
      await lock.release();
    }
    await waitFor(async () => (await rows()).length === 1, 20_000);
    expect((await rows())[0].response_id).toBe(created.id);
    expect(await client.responses.retrieve(created.id)).toMatchObject({ id: created.id, output: created.output });
  });

  it('the response id travels with an export: imported elsewhere it still answers GET; imported twice into one database the copy comes without it', async () => {
    const source = await start();
    const created = await source.client.responses.create({ model: 'mistral', input: 'export me' });
    const lines = (await (await source.t.request('/admin/export')).text()).trim().split('\n');
    expect(lines).toHaveLength(1);
    const imported = parseExportLine(lines[0], 1);
    expect(imported.responseId).toBe(created.id);

    const target = await start();
    await target.t.app.get(ConversationHistoryRepository).importMany([imported]);
    expect(await target.client.responses.retrieve(created.id)).toMatchObject({ id: created.id, output: created.output });

    await target.t.app.get(ConversationHistoryRepository).importMany([imported, imported]);
    expect((await target.rows()).map((row) => row.response_id)).toEqual([created.id, null, null]);
    expect(await target.client.responses.retrieve(created.id)).toMatchObject({ id: created.id });
  });
});

describe('the response-id migration', () => {
  it('adds response_id, unique where set (any number of rows without one), and can be undone', async () => {
    const { dir, remove } = tempDir();
    try {
      const data = await new DataSource(buildDataSourceOptions({ database: { type: 'sqlite', path: `${dir}/ids.db` } })).initialize();
      const insert = (id: string | null) => data.query(`INSERT INTO conversations (prompt, response, source, response_id) VALUES ('p', 'r', 'responses', ?)`, [id]);
      await insert('resp_1');
      await insert(null);
      await insert(null);
      await expect(insert('resp_1')).rejects.toThrow(/UNIQUE constraint failed: conversations.response_id/);
      // Undo the later migrations too, down to and including this one.
      const applied = async () => ((await data.query(`SELECT name FROM migrations`)) as { name: string }[]).map((row) => row.name);
      while ((await applied()).includes('AddResponseId1820000000000')) await data.undoLastMigration();
      const columns = ((await data.query(`PRAGMA table_info(conversations)`)) as { name: string }[]).map((column) => column.name);
      expect(columns).not.toContain('response_id');
      expect(await data.query(`SELECT count(*) AS n FROM conversations`)).toEqual([{ n: 3 }]);
      await data.destroy();
    } finally {
      remove();
    }
  });
});
