import { Global, Module, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { DataSource } from 'typeorm';
import { ConflictError } from '../../src/common/errors/app-errors';
import { AppConfig, loadConfig } from '../../src/config/app-config';
import type { ApiKeyRecord } from '../../src/core/persistence/api-key-record';
import { ApiKeyRepository } from '../../src/core/persistence/api-key.repository';
import { AuditLogRepository } from '../../src/core/persistence/audit-log.repository';
import { ConversationRepository, type NewExchange } from '../../src/core/persistence/conversation.repository';
import { ConversationsService } from '../../src/core/persistence/conversations.service';
import { ExchangeSpool } from '../../src/core/persistence/exchange-spool';
import { PersistenceModule } from '../../src/core/persistence/persistence.module';
import { postgresAvailable, startPostgres, type PostgresServer } from '../support/postgres';
import { eventually } from '../support/eventually';
import { tempDir } from '../support/test-app';

/**
 * The write path and the small ports (conversations, keys, audit) on both engines: the same
 * cases against SQLite and PostgreSQL, through the module the app uses.
 */
type Engine = { name: 'sqlite' | 'postgres'; env(): Promise<Record<string, string>> };

let postgres: PostgresServer | undefined;
const engines: Engine[] = [{ name: 'sqlite', env: () => Promise.resolve({}) }];
if (postgresAvailable() || process.env.VEGA_REQUIRE_POSTGRES) {
  engines.push({
    name: 'postgres',
    env: async () => {
      postgres ??= await startPostgres();
      return { DATABASE_URL: await postgres.createDatabase() };
    },
  });
} else {
  process.stderr.write('Skipping the PostgreSQL cases of the write path: PostgreSQL is not installed (apt-get install postgresql)\n');
}

afterAll(async () => {
  await postgres?.dispose();
}, 60_000);

const exchange = (overrides: Partial<NewExchange> = {}): NewExchange => ({
  prompt: 'hello',
  response: 'hi there',
  source: 'api',
  sessionId: null,
  model: 'mistral',
  status: 'ok',
  ...overrides,
});

const key = (overrides: Partial<ApiKeyRecord> = {}): ApiKeyRecord => ({
  id: 'key-1',
  name: 'ci',
  prefix: 'vk-abc',
  scopes: ['chat', 'history:own'],
  models: ['mistral'],
  limits: { requestsPerMinute: 5 },
  expiresAt: new Date('2030-01-01T00:00:00.000Z'),
  createdAt: new Date('2026-01-01T00:00:00.000Z'),
  updatedAt: new Date('2026-01-01T00:00:00.000Z'),
  lastUsedAt: null,
  revokedAt: null,
  ...overrides,
});

describe.each(engines)('write path on $name', (engine) => {
  let moduleRef: INestApplicationContext;
  let temp: ReturnType<typeof tempDir>;
  let conversations: ConversationRepository;
  let dataSource: DataSource;
  /** `?` placeholders become `$n` on PostgreSQL. */
  const sql = (text: string) => (engine.name === 'postgres' ? text.replace(/\?/g, (() => { let n = 0; return () => `$${++n}`; })()) : text);
  const query = <T = Record<string, unknown>>(text: string, params: unknown[] = []) => dataSource.query(sql(text), params) as Promise<T[]>;

  beforeAll(async () => {
    temp = tempDir('vega-write-');
    const config = loadConfig({ VEGA_DATA_DIR: temp.dir, ...(await engine.env()) });
    @Global()
    @Module({ providers: [{ provide: AppConfig, useValue: config }], exports: [AppConfig] })
    class ConfigHolder {}
    @Module({ imports: [ConfigHolder, PersistenceModule.forRoot(config.database)] })
    class Root {}
    moduleRef = await NestFactory.createApplicationContext(Root, { logger: false });
    conversations = moduleRef.get(ConversationRepository);
    dataSource = moduleRef.get(DataSource);
  }, 60_000);

  afterAll(async () => {
    await moduleRef?.close();
    temp?.remove();
  });

  describe('ConversationRepository.insert', () => {
    it('stores concurrent exchanges in few statements, each caller getting its own row id', async () => {
      const ids = await Promise.all(Array.from({ length: 120 }, (_, i) => conversations.insert(exchange({ prompt: `batch ${i}` }))));
      expect(new Set(ids).size).toBe(120);
      const rows = await query<{ id: number; prompt: string }>(`SELECT id, prompt FROM conversations WHERE prompt LIKE 'batch %'`);
      const byId = new Map(rows.map((row) => [Number(row.id), row.prompt]));
      ids.forEach((id, i) => expect(byId.get(id)).toBe(`batch ${i}`));
      if (engine.name === 'postgres') {
        // Rows written by one statement share its transaction id: far fewer than one per exchange.
        const [{ transactions }] = await query<{ transactions: number }>(
          `SELECT count(DISTINCT xmin::text)::int AS transactions FROM conversations WHERE prompt LIKE 'batch %'`,
        );
        expect(transactions).toBeLessThanOrEqual(3);
      }
    });

    if (engine.name === 'postgres') {
      it('drops the write keys of answered batches as it goes, with batches in flight side by side', async () => {
        for (let round = 0; round < 5; round += 1) {
          await Promise.all(Array.from({ length: 60 }, (_, i) => conversations.insert(exchange({ prompt: `keys ${round} ${i}` }))));
        }
        // Only the keys answered after the last batch was sent are left (at most one per batch in flight).
        const keys = await query(`SELECT key FROM spool_applied WHERE key LIKE 'write:%'`);
        expect(keys.length).toBeGreaterThan(0);
        expect(keys.length).toBeLessThanOrEqual(2);
      });
    }

    it('keeps every column of the exchange', async () => {
      const id = await conversations.insert(
        exchange({
          prompt: 'weather in Oslo?\u0000',
          source: 'openai',
          sessionId: 'session-1',
          status: 'error',
          promptTokens: 12,
          completionTokens: 3,
          durationMs: 250.4,
          ttftMs: 40,
          kind: 'chat',
          request: { messages: [{ role: 'user', content: 'weather in Oslo?' }], tools: [{ name: 'get_weather' }] } as never,
          responseId: 'resp_write_1',
          keyId: 'key-1',
          modelMs: 200,
          servedModel: 'llama3',
          target: 'gpu-a',
        }),
      );
      const [row] = await query(
        `SELECT prompt, source, session_id, status, prompt_tokens, completion_tokens, duration_ms, ttft_ms, kind, request, tool_text,
                response_id, key_id, model_ms, served_model, target, ts FROM conversations WHERE id = ?`,
        [id],
      );
      expect(row).toMatchObject({
        source: 'openai',
        session_id: 'session-1',
        status: 'error',
        prompt_tokens: 12,
        completion_tokens: 3,
        ttft_ms: 40,
        kind: 'chat',
        response_id: 'resp_write_1',
        key_id: 'key-1',
        model_ms: 200,
        served_model: 'llama3',
        target: 'gpu-a',
      });
      expect(String(row.prompt)).toMatch(/^weather in Oslo\?/);
      expect(Math.round(Number(row.duration_ms))).toBe(250);
      expect(JSON.parse(String(row.request))).toMatchObject({ tools: [{ name: 'get_weather' }] });
      expect(String(row.tool_text)).toContain('get_weather');
      expect(Math.abs(new Date(String(row.ts instanceof Date ? row.ts.toISOString() : `${String(row.ts).replace(' ', 'T')}Z`)).getTime() - Date.now())).toBeLessThan(60_000);
    });

    it('fails only the row the database refuses, not its batch', async () => {
      const results = await Promise.allSettled([
        conversations.insert(exchange({ prompt: 'neighbour 1' })),
        conversations.insert(exchange({ prompt: 'duplicate', responseId: 'resp_write_1' })),
        conversations.insert(exchange({ prompt: 'neighbour 2' })),
      ]);
      expect(results.map((result) => result.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    });
  });

  describe('ConversationRepository.recentTurns', () => {
    it("returns a session's last answered turns, oldest first, the owner's only when asked", async () => {
      for (const [prompt, keyId, status] of [
        ['one', 'a', 'ok'],
        ['two', 'b', 'ok'],
        ['three', 'a', 'error'],
        ['four', 'a', 'cached'],
      ] as const) {
        await conversations.insert(exchange({ prompt, sessionId: 'turns', keyId, status }));
      }
      expect((await conversations.recentTurns('turns', 2)).map((turn) => turn.prompt)).toEqual(['two', 'four']);
      expect((await conversations.recentTurns('turns', 5, 'a')).map((turn) => turn.prompt)).toEqual(['one', 'four']);
    });
  });

  describe('ConversationRepository.storeSpooled', () => {
    it('writes each spooled exchange once, at its own time, and reports the rows the database refuses', async () => {
      const at = new Date('2026-02-03T04:05:06.789Z');
      const entries = [
        { key: 'spool-1', at, exchange: exchange({ prompt: 'spooled one' }) },
        { key: 'spool-2', at, exchange: exchange({ prompt: 'spooled bad', responseId: 'resp_write_1' }) },
        { key: 'spool-3', at, exchange: exchange({ prompt: 'spooled three' }) },
      ];
      expect(await conversations.storeSpooled(entries)).toEqual({ written: 2, refused: ['spool-2'] });
      expect(await conversations.storeSpooled(entries)).toEqual({ written: 0, refused: [] });
      const rows = await query<{ prompt: string; ts: unknown }>(`SELECT prompt, ts FROM conversations WHERE prompt LIKE 'spooled %' ORDER BY id`);
      expect(rows.map((row) => row.prompt)).toEqual(['spooled one', 'spooled three']);
      const stored = rows[0].ts instanceof Date ? rows[0].ts : new Date(`${String(rows[0].ts).replace(' ', 'T')}Z`);
      expect(stored.toISOString()).toBe(at.toISOString());
      await conversations.forgetSpooled(entries.map((entry) => entry.key));
      expect(await query(`SELECT key FROM spool_applied WHERE key LIKE 'spool-%'`)).toEqual([]);
    });

    it('skips an exchange whose uncertain write was committed after all (its write key is there), and writes one whose was not', async () => {
      const at = new Date('2026-02-03T04:05:06.789Z');
      await query(`INSERT INTO spool_applied (key) VALUES ('write:committed')`);
      const entries = [
        { key: 'spool-w1', at, exchange: exchange({ prompt: 'uncertain committed' }), writeKey: 'write:committed' },
        { key: 'spool-w2', at, exchange: exchange({ prompt: 'uncertain lost' }), writeKey: 'write:lost' },
      ];
      expect(await conversations.storeSpooled(entries)).toEqual({ written: 1, refused: [] });
      const rows = await query<{ prompt: string }>(`SELECT prompt FROM conversations WHERE prompt LIKE 'uncertain %'`);
      expect(rows.map((row) => row.prompt)).toEqual(['uncertain lost']);
      await conversations.forgetSpooled(['spool-w1', 'spool-w2', 'write:committed', 'write:lost']);
      expect(await query(`SELECT key FROM spool_applied WHERE key LIKE 'spool-w%' OR key LIKE 'write:%t'`)).toEqual([]);
    });

    // A write that timed out on a server that hung may run there later, or still be running.
    (engine.name === 'postgres' ? it : it.skip)(
      "claims a timed-out write's key: a batch replayed in two parts is stored whole, and the write the server runs late stores nothing",
      async () => {
        const at = new Date('2026-02-03T04:05:06.789Z');
        const part = (n: number) => ({ key: `spool-late${n}`, at, exchange: exchange({ prompt: `late ${n}` }), writeKey: 'write:late' });
        expect(await conversations.storeSpooled([part(1)])).toEqual({ written: 1, refused: [] });
        // The key is there now, put by the replay (its marker says so), not by the write: the rest of the batch is stored too.
        expect(await conversations.storeSpooled([part(2)])).toEqual({ written: 1, refused: [] });
        const lateWrite = `WITH stored AS (INSERT INTO conversations (prompt, response) VALUES ('late original', 'x') RETURNING id),
          mark AS (INSERT INTO spool_applied (key) VALUES ('write:late')) SELECT id FROM stored`;
        await expect(query(lateWrite)).rejects.toThrow(/duplicate key/);
        const rows = await query<{ prompt: string }>(`SELECT prompt FROM conversations WHERE prompt LIKE 'late %' ORDER BY id`);
        expect(rows.map((row) => row.prompt)).toEqual(['late 1', 'late 2']);
        await conversations.forgetSpooled(['spool-late1', 'spool-late2', 'write:late']);
        expect(await query(`SELECT key FROM spool_applied WHERE key LIKE '%late%'`)).toEqual([]);
      },
    );

    (engine.name === 'postgres' ? it : it.skip)('waits for a timed-out write still running on the server, and skips its exchanges once it commits', async () => {
      const running = await dataSource.createQueryRunner();
      try {
        await running.startTransaction();
        await running.query(`INSERT INTO conversations (prompt, response) VALUES ('running write', 'x')`);
        await running.query(`INSERT INTO spool_applied (key) VALUES ('write:running')`);
        let settled = false;
        const replay = conversations
          .storeSpooled([{ key: 'spool-running', at: new Date(), exchange: exchange({ prompt: 'running write' }), writeKey: 'write:running' }])
          .finally(() => (settled = true));
        // The replay waits on the key the running write holds (it shows as a lock wait on the server).
        await eventually(
          () => query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%spool_applied%'`),
          (rows) => rows[0].n > 0,
          10_000,
        );
        expect(settled).toBe(false);
        await running.commitTransaction();
        expect(await replay).toEqual({ written: 0, refused: [] });
        expect(await query(`SELECT prompt FROM conversations WHERE prompt = 'running write'`)).toHaveLength(1);
        await conversations.forgetSpooled(['spool-running', 'write:running']);
      } finally {
        if (running.isTransactionActive) await running.rollbackTransaction();
        await running.release();
      }
    });
  });

  describe('ConversationsService.record', () => {
    it('stores an exchange through the service the routes use', async () => {
      const id = await moduleRef.get(ConversationsService).record(exchange({ prompt: 'via the service' }));
      expect(await query(`SELECT prompt FROM conversations WHERE id = ?`, [id])).toEqual([{ prompt: 'via the service' }]);
    });
  });

  describe('ApiKeyRepository', () => {
    it('stores, finds, updates, re-keys, touches and lists keys', async () => {
      const keys = moduleRef.get(ApiKeyRepository);
      await keys.insert(key(), 'digest-1');
      await keys.insert(key({ id: 'key-2', name: 'revoked', revokedAt: new Date('2026-01-02T00:00:00.000Z'), createdAt: new Date('2026-01-02T00:00:00.000Z') }), 'digest-2');
      expect(await keys.findByDigest('digest-1')).toEqual(key());
      expect(await keys.findByIdOrName('ci')).toEqual(key());
      expect(await keys.findByIdOrName('key-2')).toMatchObject({ name: 'revoked' });
      expect(await keys.findByIdOrName('nobody')).toBeNull();
      await expect(keys.insert(key({ id: 'key-3' }), 'digest-3')).rejects.toBeInstanceOf(ConflictError);
      await expect(keys.update(key({ id: 'key-2', name: 'ci' }))).rejects.toBeInstanceOf(ConflictError);

      const renamed = key({ name: 'ci-2', scopes: ['chat'], models: null, updatedAt: new Date('2026-01-05T00:00:00.000Z') });
      await keys.update(renamed);
      await keys.replaceSecret('key-1', 'digest-new', 'vk-new', new Date('2026-01-06T00:00:00.000Z'));
      await keys.touch('key-1', new Date('2026-01-07T00:00:00.000Z'));
      expect(await keys.findByDigest('digest-1')).toBeNull();
      expect(await keys.findByDigest('digest-new')).toEqual({
        ...renamed,
        prefix: 'vk-new',
        updatedAt: new Date('2026-01-06T00:00:00.000Z'),
        lastUsedAt: new Date('2026-01-07T00:00:00.000Z'),
      });
      expect((await keys.list({ includeRevoked: false })).map((found) => found.id)).toEqual(['key-1']);
      expect((await keys.list({ includeRevoked: true })).map((found) => found.id)).toEqual(['key-1', 'key-2']);
    });
  });

  describe('AuditLogRepository', () => {
    it('appends entries and lists them newest first, filtered and paged', async () => {
      const audit = moduleRef.get(AuditLogRepository);
      const base = { keyId: 'primary', models: ['mistral'], status: 200, durationMs: 12.6, detail: null };
      await audit.append({ ...base, at: new Date('2026-01-01T00:00:00.000Z'), route: 'POST /api/pull', outcome: 'ok' });
      await audit.append({ ...base, at: new Date('2026-01-02T00:00:00.000Z'), route: 'DELETE /api/delete', outcome: 'error', detail: 'x'.repeat(600) });
      await audit.append({ ...base, at: new Date('2026-01-03T00:00:00.000Z'), route: 'POST /api/pull', outcome: 'aborted' });

      const all = await audit.list({}, { limit: 10 });
      expect(all.map((entry) => entry.outcome)).toEqual(['aborted', 'error', 'ok']);
      expect(all[2]).toMatchObject({ at: new Date('2026-01-01T00:00:00.000Z'), route: 'POST /api/pull', models: ['mistral'], durationMs: 13, detail: null });
      expect(all[1].detail).toHaveLength(500);
      expect((await audit.list({ route: '/api/pull' }, { limit: 10 })).map((entry) => entry.outcome)).toEqual(['aborted', 'ok']);
      expect((await audit.list({ route: 'DELETE /api/delete' }, { limit: 10 })).map((entry) => entry.outcome)).toEqual(['error']);
      expect((await audit.list({ outcome: 'ok' }, { limit: 10 })).map((entry) => entry.route)).toEqual(['POST /api/pull']);
      expect((await audit.list({ since: new Date('2026-01-02T00:00:00.000Z') }, { limit: 10 })).map((entry) => entry.outcome)).toEqual(['aborted', 'error']);
      expect((await audit.list({}, { limit: 1, beforeId: all[0].id })).map((entry) => entry.outcome)).toEqual(['error']);
    });
  });

  // Last: it stops the server the other cases share.
  (engine.name === 'postgres' ? describe : describe.skip)('with the PostgreSQL server down', () => {
    it('spools the exchange at once and writes it, once, when the server is back', async () => {
      const service = moduleRef.get(ConversationsService);
      await postgres!.stop();
      const started = Date.now();
      expect(await service.record(exchange({ prompt: 'while down' }))).toBeNull();
      expect(Date.now() - started).toBeLessThan(15_000);
      await postgres!.start();
      // While the spooled exchange waits, a new one joins it; once it is written back, they are stored directly again, after it.
      const spool = moduleRef.get(ExchangeSpool);
      await eventually(() => Promise.resolve(spool.pending), (pending) => !pending, 30_000, 100);
      expect(await service.record(exchange({ prompt: 'back up' }))).toEqual(expect.any(Number));
      const rows = await query<{ prompt: string }>(`SELECT prompt FROM conversations WHERE prompt IN ('while down', 'back up') ORDER BY id`);
      expect(rows.map((row) => row.prompt)).toEqual(['while down', 'back up']);
    }, 90_000);
  });
});
