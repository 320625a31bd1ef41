import { Client } from 'pg';
import { eventually } from '../support/eventually';
import { FakeOllama } from '../support/fake-ollama';
import { describeWithPostgres } from '../support/postgres';
import { RedisServer, describeWithRedis } from '../support/redis-server';
import { openSse } from '../support/sse-client';
import { VegaProcess } from '../support/vega-process';

/**
 * Issue 23, item 6: three real Vega processes behind no balancer at all, on one PostgreSQL
 * database and one Redis, each request sent to whichever instance the test picks. Nothing may
 * depend on which instance a client reaches (no sticky sessions, SSE included).
 */
describeWithRedis('three Vega instances on one PostgreSQL and one Redis', () => {
  describeWithPostgres('(e2e, real processes)', (server) => {
    const fake = new FakeOllama({ models: ['mistral'] });
    const instances = [new VegaProcess(), new VegaProcess(), new VegaProcess()];
    const [a, b, c] = instances;
    let redis: RedisServer;
    let databaseUrl: string;

    /** One query on the shared database, on a connection of its own. */
    const query = async <T extends object>(sql: string, params: unknown[]): Promise<T[]> => {
      const client = new Client({ connectionString: databaseUrl });
      await client.connect();
      try {
        return (await client.query<T>(sql, params)).rows;
      } finally {
        await client.end();
      }
    };

    /** Sends `init.body` as JSON, with the bootstrap admin key unless `key` names another. */
    const call = (instance: VegaProcess, path: string, init: { method?: string; body?: unknown; key?: string } = {}) =>
      fetch(`${instance.url}${path}`, {
        method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
        headers: { 'x-api-key': init.key ?? instance.apiKey, ...(init.body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: init.body === undefined ? undefined : JSON.stringify(init.body),
      });

    /** A managed key created through `instance`; answers its id and secret. */
    const createKey = async (instance: VegaProcess, name: string, limits: Record<string, number> = {}) => {
      const res = await call(instance, '/admin/keys', { body: { name, scopes: ['chat', 'history:own'], limits } });
      expect(res.status).toBe(201);
      return (await res.json()) as { id: string; secret: string };
    };

    /** The `error` of an OpenAI-dialect refusal. */
    const errorOf = async (res: Response) => ((await res.json()) as { error: { message: string; code?: string } }).error;

    /** The generation settings an instance applies now. */
    const settingsOf = async (instance: VegaProcess) => (await (await call(instance, '/admin/gen')).json()) as { temperature: number; top_k: number };

    const chatCompletion = (instance: VegaProcess, key: string, prompt: string) =>
      call(instance, '/v1/chat/completions', { key, body: { model: 'mistral', messages: [{ role: 'user', content: prompt }], max_tokens: 20 } });

    beforeAll(async () => {
      await fake.start();
      redis = await RedisServer.start();
      databaseUrl = await server().createDatabase();
      const env = { DATABASE_URL: databaseUrl, REDIS_URL: redis.url, OLLAMA_URL: fake.url, RATE_LIMIT_PER_MINUTE: '0', LOG_LEVEL: 'warn' };
      await Promise.all(instances.map((instance) => instance.start(env, 90_000)));
    }, 120_000);

    afterAll(async () => {
      await Promise.all(instances.map((instance) => instance.dispose()));
      await redis?.stop();
      await fake.stop();
    });

    afterEach(() => fake.setDefaultFault(null));

    it('admits N requests per minute of a key in all, not N per instance', async () => {
      const perMinute = 5;
      const key = await createKey(a, 'rpm', { requests_per_minute: perMinute });
      // 3N requests at once, spread evenly: without a shared count each instance would admit N.
      const statuses = await Promise.all(
        Array.from({ length: 3 * perMinute }, async (_, index) => {
          const res = await call(instances[index % 3]!, '/v1/models', { key: key.secret });
          await res.text();
          return res.status;
        }),
      );
      expect(statuses.filter((status) => status === 200)).toHaveLength(perMinute);
      expect(statuses.filter((status) => status === 429)).toHaveLength(2 * perMinute);
    });

    it("keeps a key's day budget under concurrent calls over all three (overrun at most one call's estimate)", async () => {
      const budget = 300;
      const estimate = 30; // what a call below reserves: its prompt's estimate plus max_tokens 20 (and costs: 10 + 20)
      fake.setDefaultFault({ kind: 'reply', text: 'a b c d e', promptEvalCount: 10, evalCount: 20 });
      const key = await createKey(b, 'budget', { tokens_per_day: budget });
      const results = await Promise.all(
        Array.from({ length: 45 }, async (_, index) => {
          const res = await chatCompletion(instances[index % 3]!, key.secret, `racing ${index}`);
          return { status: res.status, body: await res.text() };
        }),
      );
      expect(results.filter(({ status }) => status !== 200 && status !== 429)).toEqual([]);
      const admitted = results.filter(({ status }) => status === 200).length;
      const refused = results.filter(({ status }) => status === 429);
      expect(refused.length).toBeGreaterThan(0);
      for (const { body } of refused) expect(body).toContain('tokens_per_day');
      const [{ rows, tokens }] = await query<{ rows: number; tokens: number }>(
        'SELECT COUNT(*)::int AS rows, COALESCE(SUM(prompt_tokens + completion_tokens), 0)::int AS tokens FROM conversations WHERE key_id = $1',
        [key.id],
      );
      expect(rows).toBe(admitted);
      expect(tokens).toBeGreaterThanOrEqual(budget);
      expect(tokens).toBeLessThanOrEqual(budget + estimate);
    });

    it("holds a key's concurrent-streams slot for all three: a stream open on A refuses a call on B and C until its client leaves", async () => {
      const key = await createKey(a, 'one-stream', { concurrent_streams: 1 });
      // The model sends one chunk and then nothing: the stream stays open until the client hangs up.
      fake.enqueue({ kind: 'stall_after', afterChunks: 1 });
      const open = await openSse(`${a.url}/v1/chat/completions`, {
        headers: { 'x-api-key': key.secret },
        body: { model: 'mistral', messages: [{ role: 'user', content: 'hold the slot' }], stream: true },
      });
      expect(open.status).toBe(200);
      for (const other of [b, c]) {
        const refused = await chatCompletion(other, key.secret, `refused on ${other.url}`);
        expect(refused.status).toBe(429);
        expect((await errorOf(refused)).message).toContain('concurrent_streams');
      }
      open.close();
      const after = await eventually(() => chatCompletion(b, key.secret, 'after the stream'), (res) => res.status === 200, 5_000, 20);
      expect(after.status).toBe(200);
      await after.text();
    });

    it('refuses a key revoked through one instance on the other two within 1 s', async () => {
      const key = await createKey(a, 'revoked');
      // Both others know the key now (and keep it in their cache).
      for (const other of [b, c]) expect((await call(other, '/v1/models', { key: key.secret })).status).toBe(200);
      expect((await call(a, `/admin/keys/${key.id}/revoke`, { method: 'POST' })).status).toBe(200);
      const revokedAt = Date.now();
      const refusedAfter = await Promise.all(
        [b, c].map(async (other) => {
          const status = await eventually(async () => (await call(other, '/v1/models', { key: key.secret })).status, (code) => code === 401, 2_000, 10);
          expect(status).toBe(401);
          return Date.now() - revokedAt;
        }),
      );
      for (const ms of refusedAfter) expect(ms).toBeLessThan(1_000);
      const refused = await call(c, '/v1/models', { key: key.secret });
      expect((await errorOf(refused)).message).toMatch(/^This API key was revoked at /);
    });

    it("applies a change of a key's model list made on one instance on the other two within 1 s", async () => {
      const key = await createKey(b, 'narrowed');
      for (const other of [a, c]) expect((await chatCompletion(other, key.secret, `allowed on ${other.url}`)).status).toBe(200);
      expect((await call(b, `/admin/keys/${key.id}`, { method: 'PATCH', body: { models: ['llama3.2'] } })).status).toBe(200);
      const changedAt = Date.now();
      const refusedAfter = await Promise.all(
        [a, c].map(async (other) => {
          const res = await eventually(() => chatCompletion(other, key.secret, `refused on ${other.url}`), (answer) => answer.status === 403, 2_000, 10);
          expect(res.status).toBe(403);
          expect((await errorOf(res)).code).toBe('model_not_allowed');
          return Date.now() - changedAt;
        }),
      );
      for (const ms of refusedAfter) expect(ms).toBeLessThan(1_000);
    });

    it('reads and searches an exchange stored through one instance through the others', async () => {
      const key = await createKey(c, 'reader');
      const chat = await call(c, '/chat', { key: key.secret, body: { prompt: 'a peregrine above the quarry' } });
      expect(chat.status).toBe(200);
      const { conversation_id: id, response } = (await chat.json()) as { conversation_id: number; response: string };
      for (const other of [a, b]) {
        const read = await call(other, `/conversations/${id}`, { key: key.secret });
        expect(read.status).toBe(200);
        expect(await read.json()).toMatchObject({ id, prompt: 'a peregrine above the quarry', response, key_id: key.id });
        const found = await call(other, '/history?q=peregr*', { key: key.secret });
        expect(found.status).toBe(200);
        const { items } = (await found.json()) as { items: { id: number; snippet?: string }[] };
        expect(items.map((item) => item.id)).toEqual([id]);
        expect(JSON.stringify(items[0])).toContain('<mark>peregrine</mark>');
      }
    });

    it('continues a response stored through one instance on another (previous_response_id), and reads it through the third', async () => {
      const key = await createKey(b, 'responder');
      fake.enqueue({ kind: 'reply', text: 'The river is the Tay.' });
      const first = await call(b, '/v1/responses', { key: key.secret, body: { model: 'mistral', input: 'Name a Scottish river.' } });
      expect(first.status).toBe(200);
      const { id } = (await first.json()) as { id: string };
      fake.enqueue({ kind: 'reply', text: 'About 190 km.' });
      const asked = fake.chatRequests().length;
      const next = await call(c, '/v1/responses', { key: key.secret, body: { model: 'mistral', previous_response_id: id, input: 'How long is it?' } });
      expect(next.status).toBe(200);
      expect(fake.chatRequests()[asked]!.body.messages.map((message: { content: string }) => message.content)).toEqual([
        'Name a Scottish river.',
        'The river is the Tay.',
        'How long is it?',
      ]);
      const read = await call(a, `/v1/responses/${id}`, { key: key.secret });
      expect(read.status).toBe(200);
      expect(JSON.stringify(await read.json())).toContain('The river is the Tay.');
    });

    it('applies a generation-settings change made on one instance on all three within 1 s, up to the model', async () => {
      const changed = await call(b, '/admin/gen', { body: { temperature: 1.25, top_k: 7 } });
      expect(changed.status).toBe(200);
      const changedAt = Date.now();
      const reached = await Promise.all(
        instances.map(async (instance) => {
          const settings = await eventually(() => settingsOf(instance), (body) => body.temperature === 1.25, 2_000, 10);
          expect(settings).toMatchObject({ temperature: 1.25, top_k: 7 });
          return Date.now() - changedAt;
        }),
      );
      for (const ms of reached) expect(ms).toBeLessThan(1_000);
      for (const instance of instances) {
        const before = fake.chatRequests().length;
        expect((await call(instance, '/chat', { body: { prompt: `settings through ${instance.url}` } })).status).toBe(200);
        expect(fake.chatRequests()[before]!.body.options).toMatchObject({ temperature: 1.25, top_k: 7 });
      }
      expect((await call(a, '/admin/gen/reset', { method: 'POST' })).status).toBe(200);
      for (const instance of instances) {
        expect((await eventually(() => settingsOf(instance), (body) => body.temperature !== 1.25, 2_000, 10)).temperature).not.toBe(1.25);
      }
    });

    it('streams through any instance with no stickiness: a session begun on A goes on over SSE on B and C with its memory', async () => {
      const session = 'roaming-session';
      const key = await createKey(a, 'roamer');
      const headers = { 'x-api-key': key.secret };
      fake.enqueue({ kind: 'reply', text: 'Noted: the gate code is 4711.' });
      const first = await call(a, '/chat', { key: key.secret, body: { prompt: 'Remember the gate code 4711.', session_id: session } });
      expect(first.status).toBe(200);

      // Vega's own stream on B: the history of A's exchange goes to the model.
      fake.enqueue({ kind: 'reply', text: 'The code is 4711.' });
      let asked = fake.chatRequests().length;
      const onB = await openSse(`${b.url}/chat/sse`, { headers, body: { prompt: 'What is the gate code?', session_id: session } });
      expect(onB.status).toBe(200);
      const eventsB = await onB.all();
      expect(eventsB.filter((event) => event.event === 'token').map((event) => JSON.parse(event.data).text).join('')).toBe('The code is 4711.');
      const doneB = JSON.parse(eventsB.find((event) => event.event === 'done')!.data);
      expect(doneB.session_id).toBe(session);
      expect(fake.chatRequests()[asked]!.body.messages.map((message: { content: string }) => message.content)).toEqual([
        'Remember the gate code 4711.',
        'Noted: the gate code is 4711.',
        'What is the gate code?',
      ]);

      // The same stream asked for with `stream: true` on C: it sees both earlier exchanges.
      fake.enqueue({ kind: 'reply', text: 'Still 4711.' });
      asked = fake.chatRequests().length;
      const onC = await openSse(`${c.url}/chat`, { headers, body: { prompt: 'And now?', session_id: session, stream: true } });
      expect(onC.status).toBe(200);
      const doneC = JSON.parse((await onC.all()).find((event) => event.event === 'done')!.data);
      expect(fake.chatRequests()[asked]!.body.messages).toHaveLength(5);

      // OpenAI's stream through A, then the whole session read through B.
      fake.enqueue({ kind: 'reply', text: 'streamed by A' });
      const openai = await openSse(`${a.url}/v1/chat/completions`, { headers, body: { model: 'mistral', messages: [{ role: 'user', content: 'stream me' }], stream: true } });
      expect(openai.status).toBe(200);
      await openai.all();
      expect(openai.raw().endsWith('data: [DONE]\n\n')).toBe(true);
      const text = openai
        .raw()
        .split('\n')
        .filter((line) => line.startsWith('data: {'))
        .map((line) => JSON.parse(line.slice(6)).choices[0]?.delta?.content ?? '')
        .join('');
      expect(text).toBe('streamed by A');

      const read = await call(b, `/session/${session}`, { key: key.secret });
      expect(read.status).toBe(200);
      const stored = JSON.stringify(await read.json());
      for (const id of [doneB.conversation_id, doneC.conversation_id]) expect(stored).toContain(`"id":${id}`);
      const history = (await (await call(c, '/history', { key: key.secret })).json()) as { items: { prompt: string }[] };
      expect(history.items.map((item) => item.prompt)).toEqual(['stream me', 'And now?', 'What is the gate code?', 'Remember the gate code 4711.']);
    });
  });
});
