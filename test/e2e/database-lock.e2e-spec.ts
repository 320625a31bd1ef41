import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openSse } from '../support/sse-client';
import { execDb } from '../support/seed';
import { queryDb } from '../support/sqlite';
import { holdExclusiveLock, HeldLock } from '../support/sqlite-lock';
import { tempDir, TEST_API_KEY, TestApp, useAppWithFakeOllama } from '../support/test-app';
import { describeSqliteOnly } from '../support/test-database';

/** Waits (polling) until `check` returns a value other than undefined. */
async function eventually<T>(check: () => Promise<T | undefined>, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const rowsWithPrompt = (t: TestApp, prompt: string) =>
  queryDb<{ id: number; prompt: string; response: string; status: string; source: string }>(t.dbPath, 'SELECT * FROM conversations WHERE prompt = ?', [prompt]);

describeSqliteOnly('Storing exchanges while another process holds the database lock', "it holds SQLite's file lock from another process", () => {
  const env = useAppWithFakeOllama();
  let lock: HeldLock | undefined;
  // Short bounds keep the tests quick: a statement waits 0.2 s, an exchange 1 s in all (or longer where a test says).
  const quick = { DB_BUSY_TIMEOUT_SEC: '0.2', DB_WRITE_WAIT_SEC: '1' };

  afterEach(async () => {
    await lock?.release();
    lock = undefined;
  });

  it('answers a chat whose exchange waits for a lock shorter than DB_WRITE_WAIT_SEC, with its id, longer than the busy timeout', async () => {
    const t = await env.start({ DB_BUSY_TIMEOUT_SEC: '0.2', DB_WRITE_WAIT_SEC: '30' });
    lock = await holdExclusiveLock(t.dbPath);
    const answer = t.request('/chat', { body: { prompt: 'held briefly' } });
    // Released past the busy timeout, and past SQLite's usual 5 s too: the write must keep trying.
    setTimeout(() => void lock?.release(), 5500);
    const res = await answer;
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.conversation_id).toEqual(expect.any(Number));
    expect(body.conversation_pending).toBeUndefined();
    expect(await rowsWithPrompt(t, 'held briefly')).toEqual([expect.objectContaining({ id: body.conversation_id, response: 'Echo: held briefly' })]);
  });

  it('answers a chat whose exchange cannot be stored in time, spools it, and stores it once the lock is gone', async () => {
    const t = await env.start(quick);
    lock = await holdExclusiveLock(t.dbPath);
    const res = await t.request('/chat', { body: { prompt: 'spooled while locked' } });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toMatchObject({ response: 'Echo: spooled while locked', conversation_id: null, conversation_pending: true });
    const spool = join(t.dataDir, 'pending-exchanges.jsonl');
    expect(readFileSync(spool, 'utf8')).toContain('spooled while locked');
    await lock.release();
    const [row] = await eventually(async () => {
      const rows = await rowsWithPrompt(t, 'spooled while locked');
      return rows.length > 0 ? rows : undefined;
    }, 'the spooled exchange to be stored');
    expect(row).toMatchObject({ response: 'Echo: spooled while locked', status: 'ok', source: 'api' });
    await eventually(async () => (existsSync(spool) ? undefined : true), 'the spool file to be removed');
    expect(await rowsWithPrompt(t, 'spooled while locked')).toHaveLength(1);
  });

  it('ends an SSE stream with a done event saying the exchange is pending', async () => {
    const t = await env.start(quick);
    lock = await holdExclusiveLock(t.dbPath);
    const sse = await openSse(`${t.url}/chat/sse`, { method: 'POST', headers: { 'x-api-key': TEST_API_KEY }, body: { prompt: 'streamed while locked' } });
    const events = await sse.all();
    const done = events.find((event) => event.event === 'done');
    expect(JSON.parse(done!.data)).toMatchObject({ conversation_id: null, conversation_pending: true });
    expect(events.some((event) => event.event === 'error')).toBe(false);
    await lock.release();
    await eventually(async () => ((await rowsWithPrompt(t, 'streamed while locked')).length === 1 ? true : undefined), 'the streamed exchange to be stored');
  });

  it('answers /v1/chat/completions while locked and stores the exchange afterwards', async () => {
    const t = await env.start(quick);
    lock = await holdExclusiveLock(t.dbPath);
    const res = await t.request('/v1/chat/completions', {
      key: null,
      headers: { authorization: `Bearer ${TEST_API_KEY}` },
      body: { model: 'mistral', messages: [{ role: 'user', content: 'openai while locked' }] },
    });
    expect(res.status).toBe(200);
    expect((await res.json()).choices[0].message.content).toBe('Echo: openai while locked');
    await lock.release();
    const [row] = await eventually(async () => {
      const rows = await rowsWithPrompt(t, 'openai while locked');
      return rows.length > 0 ? rows : undefined;
    }, 'the completion to be stored');
    expect(row.source).toBe('openai');
  });

  it('answers feedback and deletes 503 with Retry-After, naming the database, while the lock lasts', async () => {
    const t = await env.start(quick);
    const { conversation_id: id } = await (await t.request('/chat', { body: { prompt: 'rate me' } })).json();
    lock = await holdExclusiveLock(t.dbPath);
    for (const res of [
      await t.request('/feedback', { body: { conversation_id: id, rating: 5 } }),
      await t.request(`/conversations/${id}`, { method: 'DELETE' }),
    ]) {
      expect(res.status).toBe(503);
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
      expect((await res.json()).message).toMatch(/database is busy/);
    }
    // Reads are served meanwhile (WAL): the lock blocks writers only.
    expect((await t.request(`/conversations/${id}`)).status).toBe(200);
    await lock.release();
    expect((await t.request('/feedback', { body: { conversation_id: id, rating: 5 } })).status).toBe(200);
  });

  it('keeps spooled exchanges across a restart and stores them at the next start', async () => {
    const data = tempDir('vega-spool-');
    try {
      const first = await env.start({ ...quick, VEGA_DATA_DIR: data.dir });
      lock = await holdExclusiveLock(first.dbPath);
      expect((await (await first.request('/chat', { body: { prompt: 'survives a restart' } })).json()).conversation_pending).toBe(true);
      await first.close();
      await lock.release();
      expect(await rowsWithPrompt(first, 'survives a restart')).toHaveLength(0);
      const second = await env.start({ ...quick, VEGA_DATA_DIR: data.dir });
      await eventually(async () => ((await rowsWithPrompt(second, 'survives a restart')).length === 1 ? true : undefined), 'the replay at start');
      await eventually(async () => (existsSync(join(data.dir, 'pending-exchanges.jsonl')) ? undefined : true), 'the spool file to be removed');
    } finally {
      data.remove();
    }
  });

  it('replays in order and never twice: a replay cut short after its commit stores nothing again', async () => {
    const data = tempDir('vega-spool-');
    try {
      // The database as a replay left it when it stopped between its commit and removing the file:
      // the first line's row and key are in, the file still lists both lines.
      const first = await env.start({ VEGA_DATA_DIR: data.dir });
      await first.close();
      const line = (key: string, prompt: string, ts: string) =>
        JSON.stringify({ key, ts, prompt, response: `Echo: ${prompt}`, source: 'api', sessionId: 's1', model: 'mistral', status: 'ok' });
      const dbPath = join(data.dir, 'vega.db');
      await execDb(dbPath, `INSERT INTO conversations (ts, prompt, response, source, session_id, model, status) VALUES ('2026-01-01 00:00:00.000', 'already in', 'Echo: already in', 'api', 's1', 'mistral', 'ok')`);
      await execDb(dbPath, `INSERT INTO spool_applied (key) VALUES ('k-1')`);
      writeFileSync(
        join(data.dir, 'pending-exchanges.jsonl'),
        [line('k-1', 'already in', '2026-01-01 00:00:00.000'), line('k-2', 'second', '2026-01-01 00:00:01.000'), line('k-3', 'third', '2026-01-01 00:00:02.000')]
          .map((text) => `${text}\n`)
          .join(''),
      );
      const second = await env.start({ VEGA_DATA_DIR: data.dir });
      await eventually(async () => (existsSync(join(data.dir, 'pending-exchanges.jsonl')) ? undefined : true), 'the replay at start');
      const rows = await queryDb<{ id: number; prompt: string; ts: string }>(second.dbPath, 'SELECT id, prompt, ts FROM conversations ORDER BY id');
      expect(rows.map((row) => row.prompt)).toEqual(['already in', 'second', 'third']);
      expect(rows[2].ts).toBe('2026-01-01 00:00:02.000');
      expect(await queryDb(second.dbPath, 'SELECT * FROM spool_applied')).toEqual([]);
    } finally {
      data.remove();
    }
  });
});
