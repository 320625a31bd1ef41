import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runVega } from '../support/cli';
import { describeWithPostgres } from '../support/postgres';
import { startTestApp, TestApp, tempDir, useAppWithFakeOllama } from '../support/test-app';

const ids = (body: { items: { id: number }[] }) => body.items.map((item) => item.id);

/** History, search, feedback and usage over HTTP on PostgreSQL: what the clients see is the SQLite app's. */
describeWithPostgres('History on PostgreSQL over HTTP', (server) => {
  const env = useAppWithFakeOllama();
  let t: TestApp;
  beforeEach(async () => {
    t = await env.start({ RATE_LIMIT_PER_MINUTE: '0', DATABASE_URL: await server().createDatabase() });
  });
  const ok = async (query: string) => {
    const res = await t.request(`/history?${query}`);
    expect(res.status).toBe(200);
    return res.json();
  };
  const chat = async (prompt: string, extra: Record<string, unknown> = {}) => {
    const res = await t.request('/chat', { body: { prompt, ...extra } });
    expect(res.status).toBe(200);
    return (await res.json()) as { conversation_id: number; session_id: string };
  };

  it('searches the exchanges stored through /chat: ranked, paged, highlighted and escaped', async () => {
    await chat('tell me about the weather');
    const breaker = await chat('what is a circuit breaker?');
    const markup = await chat('<b>bold</b> words and more words around a breaker, in a longer prompt than the other');
    const body = await ok('q=breaker');
    expect(ids(body)).toEqual([breaker.conversation_id, markup.conversation_id]);
    expect(body.items[0].snippet).toBe('what is a circuit <mark>breaker</mark>?');
    expect(body.items[1].snippet).toBe('&lt;b&gt;bold&lt;/b&gt; words and more words around a <mark>breaker</mark>, in a longer prompt than the other');
    expect(body.items[0].score).toBeGreaterThan(body.items[1].score);
    // Relevance pages by cursor, each row once.
    const first = await ok('q=breaker&limit=1');
    const second = await ok(`q=breaker&limit=1&cursor=${first.next_cursor}`);
    expect([...ids(first), ...ids(second)]).toEqual(ids(body));
    expect(second.next_cursor).toBeNull();
    expect(ids(await ok('q=breaker&sort=newest'))).toEqual([markup.conversation_id, breaker.conversation_id]);
    expect(ids(await ok('q=%22circuit%20breaker%22'))).toEqual([breaker.conversation_id]);
    expect(ids(await ok('q=circ*%20AND'))).toEqual([]);
    expect(ids(await ok('q=circ*'))).toEqual([breaker.conversation_id]);
    // U+0000, which PostgreSQL's text cannot hold, is stored and searched as U+FFFD.
    const nul = await chat('nul\u0000inside');
    expect(ids(await ok(`q=${encodeURIComponent('nul\u0000inside')}`))).toEqual([nul.conversation_id]);
    const bad = await t.request('/history?q=%22unbalanced');
    expect(bad.status).toBe(400);
    expect((await bad.json()).message).toContain('q has an unbalanced double quote');
  });

  it('keeps search in step with feedback and deletes, and stores a U+0000 as U+FFFD', async () => {
    const a = await chat('alpha needle');
    const b = await chat('beta needle', { session_id: 'sess-1' });
    expect((await t.request(`/conversations/${a.conversation_id}`, { method: 'DELETE' })).status).toBe(204);
    expect(ids(await ok('q=needle'))).toEqual([b.conversation_id]);
    const rated = await t.request('/feedback', { body: { conversation_id: b.conversation_id, rating: 5, tags: 'Good, short', reviewed: true } });
    expect(rated.status).toBe(200);
    expect(ids(await ok('q=needle&min_rating=5&reviewed=true&session_id=sess-1'))).toEqual([b.conversation_id]);
    const nul = await t.request('/feedback', { body: { conversation_id: b.conversation_id, notes: 'a\u0000b' } });
    expect(nul.status).toBe(200);
    expect((await nul.json()).notes).toBe('a\uFFFDb');
    expect(ids(await ok(`key_id=${encodeURIComponent('primary\u0000')}`))).toEqual([]);
    const session = await (await t.request('/session/sess-1')).json();
    expect(ids(session)).toEqual([b.conversation_id]);
    expect((await (await t.request(`/conversations/${b.conversation_id}`)).json()).notes).toBe('a\uFFFDb');
  });

  it('reports usage from the rollup and the rows', async () => {
    for (const prompt of ['one', 'two', 'three']) await chat(prompt);
    const res = await t.request('/admin/usage?group_by=model');
    expect(res.status).toBe(200);
    const report = await res.json();
    expect(report.groups).toEqual([expect.objectContaining({ model: 'mistral', requests: 3 })]);
    expect(report.totals).toMatchObject({ requests: 3, errors: 0 });
    expect(report.totals.p50_ms).toEqual(expect.any(Number));
  });

  it('takes a SQLite export with vega db import, answers the same, and gives it back with vega db export', async () => {
    const source = await startTestApp({ RATE_LIMIT_PER_MINUTE: '0', OLLAMA_URL: env.fake.url });
    const temp = tempDir('vega-pg-import-');
    try {
      for (const prompt of ['first kestrel', 'second falcon', 'third kestrel']) {
        expect((await source.request('/chat', { body: { prompt, session_id: 'birds' } })).status).toBe(200);
      }
      await source.request('/feedback', { body: { conversation_id: 2, rating: 4, tags: 'raptor', reviewed: true } });
      const exported = (await (await source.request('/admin/export')).text()).trimEnd().split('\n');
      const file = join(temp.dir, 'export.jsonl');
      writeFileSync(file, `${exported.join('\n')}\n`);
      const cliEnv = { VEGA_DATA_DIR: t.dataDir, DATABASE_URL: t.config.database.type === 'postgres' ? t.config.database.url : '', OLLAMA_URL: env.fake.url };
      const imported = await runVega(['db', 'import', file, '--json'], { env: cliEnv });
      expect(imported.stderr).toBe('');
      expect(JSON.parse(imported.stdout)).toEqual({ imported: 3 });
      const withoutId = ({ id: _id, ...rest }: Record<string, unknown>) => rest;
      for (const [index, line] of exported.entries()) {
        const original = await (await source.request(`/conversations/${JSON.parse(line).id}`)).json();
        expect(withoutId(await (await t.request(`/conversations/${index + 1}`)).json())).toEqual(withoutId(original));
      }
      expect(ids(await ok('q=kestrel&sort=newest'))).toEqual([3, 1]);
      expect(ids(await ok('reviewed=true&min_rating=4'))).toEqual([2]);
      const again = await runVega(['db', 'export'], { env: cliEnv });
      expect(again.stdout.trimEnd().split('\n').map((line) => withoutId(JSON.parse(line)))).toEqual(
        // The file was newest first and came in in its order (line i as id i + 1): newest first now is the other way round.
        exported.map((line) => withoutId(JSON.parse(line))).reverse(),
      );
    } finally {
      await source.close();
      temp.remove();
    }
  }, 60_000);
});
