import { queryDb, searchIndexCount } from '../support/sqlite';
import { itSqliteOnly } from '../support/test-database';
import { SEARCH_FIXTURES } from '../support/history-fixtures';
import { execDb, seedConversations, SeedRow } from '../support/seed';
import { TestApp, useAppWithFakeOllama } from '../support/test-app';

const ids = (body: { items: { id: number }[] }) => body.items.map((item) => item.id);
const row = (prompt: string, response = 'ok', extra: Partial<SeedRow> = {}): SeedRow => ({ prompt, response, ...extra });

describe('GET /history', () => {
  const env = useAppWithFakeOllama();
  let t: TestApp;
  beforeEach(async () => {
    t = await env.start({ RATE_LIMIT_PER_MINUTE: '0' });
  });
  const get = async (query: string) => t.request(`/history${query}`);
  const ok = async (query: string) => {
    const res = await get(query);
    expect(res.status).toBe(200);
    return res.json();
  };

  it('answers an empty page on an empty database', async () => {
    expect(await ok('')).toEqual({ items: [], next_cursor: null });
  });

  it('lists exchanges stored by /chat, newest first, with every field', async () => {
    const first = await (await t.request('/chat', { body: { prompt: 'first question' } })).json();
    await t.request('/chat', { body: { prompt: 'second question', session_id: first.session_id } });
    const body = await ok('');
    expect(ids(body)).toEqual([2, 1]);
    expect(body.next_cursor).toBeNull();
    expect(body.items[1]).toEqual({
      id: 1,
      ts: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      prompt: 'first question',
      response: 'Echo: first question',
      source: 'api',
      session_id: first.session_id,
      rating: null,
      tags: null,
      notes: null,
      reviewed: false,
      model: 'mistral',
      status: 'ok',
      prompt_tokens: expect.any(Number),
      completion_tokens: expect.any(Number),
      duration_ms: expect.any(Number),
      ttft_ms: expect.any(Number),
      model_ms: expect.any(Number),
      key_id: 'primary',
      served_model: 'mistral',
      // Without a backends file the one target is named after its host:port.
      target: new URL(t.config.routing.targets[0].url).host,
    });
    expect(body.items[1].snippet).toBeUndefined();
  });

  it('pages with an opaque cursor, never repeating or skipping a row while new rows arrive', async () => {
    await seedConversations(t.dbPath, [1, 2, 3, 4, 5, 6, 7].map((n) => row(`p${n}`)));
    const first = await ok('?limit=3');
    expect(ids(first)).toEqual([7, 6, 5]);
    expect(first.next_cursor).toEqual(expect.stringMatching(/^[A-Za-z0-9_-]+$/));
    await seedConversations(t.dbPath, [row('p8'), row('p9')]);
    const second = await ok(`?limit=3&cursor=${first.next_cursor}`);
    expect(ids(second)).toEqual([4, 3, 2]);
    await t.request(`/conversations/1`, { method: 'DELETE' });
    await seedConversations(t.dbPath, [row('p10')]);
    const third = await ok(`?limit=3&cursor=${second.next_cursor}`);
    expect(ids(third)).toEqual([]);
    expect(third.next_cursor).toBeNull();
    // The page boundary falls exactly on the last row: no empty extra page.
    const all = await ok('?limit=9');
    expect(ids(all)).toEqual([10, 9, 8, 7, 6, 5, 4, 3, 2]);
    expect(all.next_cursor).toBeNull();
  });

  it('accepts a bare id as cursor, as clients of the original API send it', async () => {
    await seedConversations(t.dbPath, [row('a'), row('b'), row('c')]);
    expect(ids(await ok('?cursor=3'))).toEqual([2, 1]);
  });

  it('filters by session, source, time range, review state and rating', async () => {
    await seedConversations(t.dbPath, [
      row('one', 'r', { session_id: 's1', ts: '2026-01-01 10:00:00.000', rating: 5, reviewed: 1 }),
      row('two', 'r', { session_id: 's1', ts: '2026-01-02 10:00:00.000', rating: 2, source: 'cli' }),
      row('three', 'r', { session_id: 's2', ts: '2026-01-03 10:00:00.000', rating: 4, reviewed: 1 }),
      row('four', 'r', { session_id: 's2', ts: '2026-01-04 10:00:00.000', source: 'integration' }),
    ]);
    expect(ids(await ok('?session_id=s1'))).toEqual([2, 1]);
    expect(ids(await ok('?source=cli'))).toEqual([2]);
    expect(ids(await ok('?since=2026-01-02'))).toEqual([4, 3, 2]);
    expect(ids(await ok('?until=2026-01-02'))).toEqual([1]);
    expect(ids(await ok('?since=2026-01-02T00:00:00Z&until=2026-01-03T10:00:00.000Z'))).toEqual([2]);
    expect(ids(await ok('?since=2026-01-02T12:00:00%2B02:00'))).toEqual([4, 3, 2]);
    expect(ids(await ok('?reviewed=true'))).toEqual([3, 1]);
    expect(ids(await ok('?reviewed=false'))).toEqual([4, 2]);
    expect(ids(await ok('?min_rating=4'))).toEqual([3, 1]);
    expect(ids(await ok('?min_rating=4&session_id=s2&reviewed=true'))).toEqual([3]);
    expect(ids(await ok('?session_id=s1&limit=1'))).toEqual([2]);
  });

  it('filters by status, one or a comma list', async () => {
    await seedConversations(t.dbPath, [
      row('one', 'r', { status: 'ok' }),
      row('two', '', { status: 'error' }),
      row('three', 'r', { status: 'cached' }),
      row('four', 'par', { status: 'aborted' }),
    ]);
    expect(ids(await ok('?status=ok,cached'))).toEqual([3, 1]);
    expect(ids(await ok('?status=error'))).toEqual([2]);
    expect(ids(await ok('?status=aborted,%20error'))).toEqual([4, 2]);
    expect(ids(await ok('?status=ok,cached&limit=1'))).toEqual([3]);
    const exported = await t.request('/admin/export?status=error,aborted');
    expect(exported.status).toBe(200);
    expect((await exported.text()).trim().split('\n').map((line) => JSON.parse(line).id)).toEqual([4, 2]);
  });

  it.each([
    ['limit=0', 'limit must be an integer between 1 and 500'],
    ['limit=501', 'limit must be an integer between 1 and 500'],
    ['limit=abc', 'limit must be an integer between 1 and 500'],
    ['limit=2.5', 'limit must be an integer between 1 and 500'],
    ['cursor=not%20a%20cursor', 'cursor is not valid'],
    ['cursor=bm90LWpzb24', 'cursor is not valid'],
    [`cursor=${Buffer.from('{"k":"id","id":-4}').toString('base64url')}`, 'cursor is not valid'],
    [`cursor=${Buffer.from('{"k":"rank","o":0,"m":1,"s":"x"}').toString('base64url')}`, 'cursor belongs to a relevance-sorted search'],
    ['cursor=0', 'cursor is not valid'],
    ['since=yesterday', 'since must be an ISO 8601 date'],
    ['since=2026-13-01', 'since must be an ISO 8601 date'],
    ['until=2026-02-30', 'until must be an ISO 8601 date'],
    ['since=2026-W05', 'since must be an ISO 8601 date'],
    ['since=2026-11-01T12', 'since must be an ISO 8601 date'],
    ['until=20261101', 'until must be an ISO 8601 date'],
    ['since=2026-02-01&until=2026-01-01', 'since must be earlier than until'],
    ['reviewed=maybe', 'reviewed must be true or false'],
    ['min_rating=0', 'min_rating must be an integer between 1 and 5'],
    ['min_rating=6', 'min_rating must be an integer between 1 and 5'],
    ['source=web', 'source must be one of api, cli, integration'],
    ['status=failed', 'status must be a comma-separated list of ok, error, aborted, cached'],
    ['status=', 'status must be a comma-separated list of ok, error, aborted, cached'],
    ['status=ok,,', 'status must be a comma-separated list of ok, error, aborted, cached'],
    ['session_id=a%20b', 'session_id may only contain letters'],
    ['sort=oldest', 'sort must be newest or relevance'],
    ['sort=relevance', 'sort=relevance needs a search: give q'],
    ['page=2', 'property page should not exist'],
  ])('answers 400 naming the field for %s', async (query, message) => {
    const res = await get(`?${query}`);
    expect(res.status).toBe(400);
    const body = await res.json();
    expect(body).toMatchObject({ statusCode: 400, error: 'Bad Request' });
    expect(body.message).toContain(message);
  });
});

describe('GET /history?q= (full-text search)', () => {
  const env = useAppWithFakeOllama();
  let t: TestApp;
  beforeEach(async () => {
    t = await env.start({ RATE_LIMIT_PER_MINUTE: '0' });
  });
  const search = async (query: string) => {
    const res = await t.request(`/history?${query}`);
    expect(res.status).toBe(200);
    return res.json();
  };

  it('ranks prompt matches above response matches and highlights a snippet', async () => {
    await seedConversations(t.dbPath, SEARCH_FIXTURES.promptAboveResponse);
    const body = await search('q=breaker');
    expect(ids(body)).toEqual([2, 1]);
    expect(body.items[0].snippet).toBe('what is a circuit <mark>breaker</mark>?');
    expect(body.items[1].snippet).toContain('circuit <mark>breaker</mark> pattern');
    expect(body.items[0].score).toBeGreaterThan(body.items[1].score);
    expect(body.next_cursor).toBeNull();
  });

  it('ranks answered exchanges (ok, cached) above failed ones (error, aborted), each by relevance', async () => {
    await seedConversations(t.dbPath, SEARCH_FIXTURES.answeredFirst);
    const body = await search('q=%22circuit%20breaker%22');
    expect(body.items.map((item: { id: number; status: string }) => [item.id, item.status])).toEqual([
      [4, 'cached'],
      [1, 'ok'],
      [3, 'aborted'],
      [2, 'error'],
    ]);
    // Within each group the order is BM25's; the failed rows score higher (short, empty answers) yet come last.
    const scores = body.items.map((item: { score: number }) => item.score);
    expect(scores[0]).toBeGreaterThan(scores[1]);
    expect(scores[2]).toBeGreaterThan(scores[3]);
    expect(scores[3]).toBeGreaterThan(scores[0]);
    // sort=newest is unchanged: newest first whatever the status.
    expect(ids(await search('q=%22circuit%20breaker%22&sort=newest'))).toEqual([4, 3, 2, 1]);
    expect(ids(await search('q=%22circuit%20breaker%22&status=ok,cached'))).toEqual([4, 1]);
    expect(ids(await search('q=%22circuit%20breaker%22&status=error,aborted'))).toEqual([3, 2]);
  });

  it('pages the answered-first ranking within the rows that existed at the first page', async () => {
    await seedConversations(t.dbPath, SEARCH_FIXTURES.needles);
    const first = await search('q=needle&limit=2');
    expect(ids(first)).toEqual([3, 2]);
    // Rows stored after the first page, answered or not, stay out of this search's pages.
    await seedConversations(t.dbPath, SEARCH_FIXTURES.needlesLater);
    const second = await search(`q=needle&limit=2&cursor=${first.next_cursor}`);
    expect(ids(second)).toEqual([5, 1]);
    const third = await search(`q=needle&limit=2&cursor=${second.next_cursor}`);
    expect(ids(third)).toEqual([4]);
    expect(third.next_cursor).toBeNull();
  });

  it('ranks the newest SEARCH_RANK_MATCHES matches alone, on every page of the search; sort=newest lists them all', async () => {
    await t.close();
    t = await env.start({ RATE_LIMIT_PER_MINUTE: '0', SEARCH_RANK_MATCHES: '3' });
    // The best match is the oldest; the three newest matches are rows 3, 4 and 6 (row 5 does not match).
    await seedConversations(t.dbPath, [row('osprey', 'x'), row('osprey hay', 'x'), row('osprey hay hay', 'x'), row('osprey hay hay hay', 'x'), row('kestrel', 'x'), row('osprey hay hay hay hay', 'x')]);
    const first = await search('q=osprey&limit=2');
    expect(ids(first)).toEqual([3, 4]);
    expect(ids(await search(`q=osprey&limit=2&cursor=${first.next_cursor}`))).toEqual([6]);
    expect(ids(await search('q=osprey&sort=newest'))).toEqual([6, 4, 3, 2, 1]);
  });

  it('matches quoted phrases, prefixes, accents and several words (all required)', async () => {
    await seedConversations(t.dbPath, [
      row('half open state', 'x'),
      row('open half', 'x'),
      row('café crème', 'x'),
      row('breakers everywhere', 'x'),
    ]);
    expect(ids(await search('q=%22half%20open%22'))).toEqual([1]);
    expect(ids(await search('q=half%20open&sort=newest'))).toEqual([2, 1]);
    expect(ids(await search('q=cafe'))).toEqual([3]);
    expect(ids(await search('q=break*'))).toEqual([4]);
    expect(ids(await search('q=half%20nothing'))).toEqual([]);
  });

  it('escapes HTML in snippets', async () => {
    await seedConversations(t.dbPath, SEARCH_FIXTURES.markup);
    const [item] = (await search('q=token')).items;
    expect(item.snippet).toBe('&lt;script&gt;alert(1)&lt;/script&gt; <mark>token</mark>');
  });

  it('treats FTS operators and stray syntax as plain words, never as a server error', async () => {
    await seedConversations(t.dbPath, SEARCH_FIXTURES.operators);
    expect(ids(await search('q=AND%20OR'))).toEqual([1]);
    expect(ids(await search('q=NOT'))).toEqual([]);
    expect(ids(await search(`q=${encodeURIComponent('column: (value) NEAR')}`))).toEqual([2]);
    expect(ids(await search(`q=${encodeURIComponent('dogs^ -cats +birds')}`))).toEqual([1]);
    // U+0000 ends a string early for FTS5: it is a separator like any other, not a syntax error (500).
    expect(ids(await search(`q=${encodeURIComponent('"cats\u0000and" birds')}`))).toEqual([1]);
  });

  it.each([
    ['"unbalanced', 'q has an unbalanced double quote'],
    ['dogs "cats', 'q has an unbalanced double quote'],
    ['***', 'q must contain at least one word'],
    ['""', 'q must contain at least one word'],
    ['( ) :', 'q must contain at least one word'],
    [Array.from({ length: 33 }, (_, i) => `w${i}`).join(' '), 'q has too many terms'],
    ['x'.repeat(501), 'q must be shorter than or equal to 500 characters'],
  ])('answers 400 for the malformed search %j', async (q, message) => {
    const res = await t.request(`/history?q=${encodeURIComponent(q)}`);
    expect(res.status).toBe(400);
    expect((await res.json()).message).toContain(message);
  });

  it('answers 400 for an empty q', async () => {
    const res = await t.request('/history?q=');
    expect(res.status).toBe(400);
    expect((await res.json()).message).toContain('q must not be empty');
  });

  it('combines search with the other filters', async () => {
    await seedConversations(t.dbPath, SEARCH_FIXTURES.withFilters);
    expect(ids(await search('q=deploy&session_id=b'))).toEqual([2]);
    expect(ids(await search('q=deploy&min_rating=3'))).toEqual([1]);
  });

  it('pages relevance results within the rows that existed at the first page', async () => {
    await seedConversations(t.dbPath, Array.from({ length: 5 }, (_, i) => row(`needle ${'hay '.repeat(i)}`, 'x')));
    const first = await search('q=needle&limit=2');
    expect(ids(first)).toEqual([1, 2]);
    await seedConversations(t.dbPath, [row('needle', 'x')]);
    const second = await search(`q=needle&limit=2&cursor=${first.next_cursor}`);
    expect(ids(second)).toEqual([3, 4]);
    const third = await search(`q=needle&limit=2&cursor=${second.next_cursor}`);
    expect(ids(third)).toEqual([5]);
    expect(third.next_cursor).toBeNull();
    // The same cursor with another search, or with newest-first order, is refused.
    const other = await t.request(`/history?q=hay&limit=2&cursor=${first.next_cursor}`);
    expect(other.status).toBe(400);
    expect((await other.json()).message).toContain('cursor does not belong to this search');
    expect((await t.request(`/history?limit=2&cursor=${first.next_cursor}`)).status).toBe(400);
  });

  it('pages newest-first search results by id', async () => {
    await seedConversations(t.dbPath, [row('needle', 'x'), row('other', 'x'), row('needle', 'x'), row('needle', 'x')]);
    const first = await search('q=needle&sort=newest&limit=2');
    expect(ids(first)).toEqual([4, 3]);
    expect(first.items[0].snippet).toBe('<mark>needle</mark>');
    const second = await search(`q=needle&sort=newest&limit=2&cursor=${first.next_cursor}`);
    expect(ids(second)).toEqual([1]);
  });

  it('keeps the index in step with deletes, feedback and edits', async () => {
    const [a, b] = await seedConversations(t.dbPath, [row('alpha needle', 'x'), row('beta needle', 'x')]);
    expect((await t.request(`/conversations/${a}`, { method: 'DELETE' })).status).toBe(204);
    expect(ids(await search('q=needle'))).toEqual([b]);
    expect(ids(await search('q=alpha'))).toEqual([]);
    expect((await t.request('/feedback', { body: { conversation_id: b, rating: 5, notes: 'noted' } })).status).toBe(200);
    const after = await search('q=needle');
    expect(ids(after)).toEqual([b]);
    expect(after.items[0]).toMatchObject({ rating: 5, notes: 'noted' });
    await execDb(t.dbPath, `UPDATE conversations SET prompt = 'gamma' WHERE id = ?`, [b]);
    expect(ids(await search('q=needle'))).toEqual([]);
    expect(ids(await search('q=gamma'))).toEqual([b]);
    const [{ n }] = await queryDb<{ n: number }>(t.dbPath, 'SELECT count(*) AS n FROM conversations');
    expect(await searchIndexCount(t.dbPath)).toBe(n);
  });

  itSqliteOnly('keeps the FTS5 table consistent with its content table through deletes, feedback and edits', "FTS5's own integrity-check command", async () => {
    const [a, b] = await seedConversations(t.dbPath, [row('alpha needle', 'x'), row('beta needle', 'x')]);
    expect((await t.request(`/conversations/${a}`, { method: 'DELETE' })).status).toBe(204);
    expect((await t.request('/feedback', { body: { conversation_id: b, rating: 5, notes: 'noted' } })).status).toBe(200);
    await execDb(t.dbPath, `UPDATE conversations SET prompt = 'gamma' WHERE id = ?`, [b]);
    await execDb(t.dbPath, `INSERT INTO conversations_fts (conversations_fts, rank) VALUES ('integrity-check', 1)`);
  });

  it('finds exchanges stored through /chat', async () => {
    await t.request('/chat', { body: { prompt: 'explain quaternions' } });
    const body = await search('q=quaternions');
    expect(body.items).toHaveLength(1);
    expect(body.items[0].snippet).toContain('<mark>quaternions</mark>');
  });
});
