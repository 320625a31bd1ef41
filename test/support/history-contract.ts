import type { KeyUsageSource } from '../../src/core/limits/key-usage.source';
import {
  ConversationHistoryRepository,
  HistoryFilter,
  ImportedConversation,
  SNIPPET_CLOSE,
  SNIPPET_OPEN,
  type SearchHit,
} from '../../src/core/persistence/conversation-history.repository';
import { parseSearchQuery } from '../../src/core/persistence/search-query';
import { KEY_USAGE_FIXTURE, SEARCH_FIXTURES } from './history-fixtures';
import type { SeedRow } from './seed';

/** One dialect's read side on a fresh, migrated, empty database. */
export interface HistoryStore {
  history: ConversationHistoryRepository;
  keyUsage: KeyUsageSource;
  /** Runs one statement without bound values on the store's own connection (an edit made by hand). */
  execute(sql: string): Promise<unknown>;
  close(): Promise<void>;
}

/** A stored exchange with the fields a case does not care about filled in; `ts` defaults to 2026-12-06 12:00 UTC. */
export function exchange(prompt: string, response = 'ok', extra: Partial<ImportedConversation> = {}): ImportedConversation {
  return {
    ts: new Date('2026-12-06T12:00:00.000Z'),
    prompt,
    response,
    source: 'api',
    sessionId: null,
    rating: null,
    tags: null,
    notes: null,
    reviewed: false,
    model: 'mistral',
    status: 'ok',
    promptTokens: null,
    completionTokens: null,
    durationMs: null,
    ttftMs: null,
    modelMs: null,
    kind: 'chat',
    keyId: null,
    servedModel: null,
    target: null,
    request: null,
    answer: null,
    responseId: null,
    ...extra,
  };
}

/** A row of the e2e tests' seed (`SeedRow`) as an imported exchange. */
const fromSeed = (row: SeedRow): ImportedConversation =>
  exchange(row.prompt, row.response, {
    ...(row.ts !== undefined && { ts: new Date(`${row.ts.replace(' ', 'T')}Z`) }),
    ...(row.source !== undefined && { source: row.source as ImportedConversation['source'] }),
    ...(row.status !== undefined && { status: row.status as ImportedConversation['status'] }),
    sessionId: row.session_id ?? null,
    rating: row.rating ?? null,
    tags: row.tags ?? null,
    reviewed: !!row.reviewed,
    ...(row.model !== undefined && { model: row.model }),
  });

const mark = (word: string) => `${SNIPPET_OPEN}${word}${SNIPPET_CLOSE}`;
const ids = (rows: { id: number }[]) => rows.map((row) => row.id);

/**
 * The behaviour every dialect's `ConversationHistoryRepository` and `KeyUsageSource` must share:
 * the cases of the history and search e2e tests, at the port. Each test gets a fresh database
 * from `open` (ids from 1).
 */
export function historyContract(open: () => Promise<HistoryStore>): void {
  let store: HistoryStore;
  let repo: ConversationHistoryRepository;
  beforeEach(async () => {
    store = await open();
    repo = store.history;
  });
  afterEach(async () => {
    await store?.close();
  });

  const seed = async (...rows: ImportedConversation[]) => {
    const before = await repo.maxId();
    await repo.importMany(rows);
    return rows.map((_, i) => before + i + 1);
  };
  const seedFixture = (rows: readonly SeedRow[]) => seed(...rows.map(fromSeed));
  const search = (q: string, filter: HistoryFilter = {}) => ({ ...filter, search: parseSearchQuery(q) });
  const ranked = async (q: string, filter: HistoryFilter = {}, page: { offset?: number; limit?: number; maxId?: number; matches?: number } = {}) =>
    repo.ranked(search(q, filter), { maxId: page.maxId ?? (await repo.maxId()), offset: page.offset ?? 0, limit: page.limit ?? 50, matches: page.matches ?? 5000 });
  const newest = (filter: HistoryFilter, page: { beforeId?: number; limit?: number } = {}) => repo.newest(filter, { limit: 50, ...page });

  describe('newest', () => {
    it('pages newest first by id, with every field read back as stored', async () => {
      await seed(
        exchange('p1', 'r1', {
          ts: new Date('2026-01-02T03:04:05.678Z'),
          sessionId: 's',
          rating: 4,
          tags: 'a,b',
          notes: 'n',
          reviewed: true,
          status: 'cached',
          promptTokens: 3,
          completionTokens: 5,
          durationMs: 70,
          ttftMs: 9,
          modelMs: 0,
          kind: 'chat',
          keyId: 'primary',
          servedModel: 'mistral:7b',
          target: 'gpu-1',
        }),
        ...[2, 3, 4, 5].map((n) => exchange(`p${n}`)),
      );
      expect(ids(await newest({}, { limit: 2 }))).toEqual([5, 4]);
      expect(ids(await newest({}, { beforeId: 4, limit: 2 }))).toEqual([3, 2]);
      const [first] = await newest({}, { beforeId: 2 });
      expect(first).toEqual({
        id: 1,
        ts: new Date('2026-01-02T03:04:05.678Z'),
        prompt: 'p1',
        response: 'r1',
        source: 'api',
        sessionId: 's',
        rating: 4,
        tags: 'a,b',
        notes: 'n',
        reviewed: true,
        model: 'mistral',
        status: 'cached',
        promptTokens: 3,
        completionTokens: 5,
        durationMs: 70,
        ttftMs: 9,
        modelMs: 0,
        kind: 'chat',
        keyId: 'primary',
        servedModel: 'mistral:7b',
        target: 'gpu-1',
      });
    });

    it('filters by key, session, source, time range, review state, rating, status and tags', async () => {
      await seed(
        exchange('one', 'r', { sessionId: 's1', ts: new Date('2026-01-01T10:00:00Z'), rating: 5, reviewed: true, keyId: 'k1', tags: ' Urgent ,x' }),
        exchange('two', 'r', { sessionId: 's1', ts: new Date('2026-01-02T10:00:00Z'), rating: 2, source: 'cli', status: 'error', tags: 'y' }),
        exchange('three', 'r', { sessionId: 's2', ts: new Date('2026-01-03T10:00:00Z'), rating: 4, reviewed: true, keyId: 'k1', status: 'aborted' }),
        exchange('four', 'r', { sessionId: 's2', ts: new Date('2026-01-04T10:00:00Z'), source: 'integration', status: 'cached', tags: '\tURGENT\n' }),
      );
      expect(ids(await newest({ keyId: 'k1' }))).toEqual([3, 1]);
      expect(ids(await newest({ sessionId: 's1' }))).toEqual([2, 1]);
      expect(ids(await newest({ source: 'cli' }))).toEqual([2]);
      expect(ids(await newest({ since: new Date('2026-01-02T10:00:00Z') }))).toEqual([4, 3, 2]);
      expect(ids(await newest({ until: new Date('2026-01-02T10:00:00Z') }))).toEqual([1]);
      expect(ids(await newest({ reviewed: true }))).toEqual([3, 1]);
      expect(ids(await newest({ reviewed: false }))).toEqual([4, 2]);
      expect(ids(await newest({ minRating: 4 }))).toEqual([3, 1]);
      expect(ids(await newest({ statuses: ['error', 'aborted'] }))).toEqual([3, 2]);
      expect(ids(await newest({ tags: ['urgent'] }))).toEqual([4, 1]);
      expect(ids(await newest({ tags: ['y', 'nope'] }))).toEqual([2]);
      expect(ids(await newest({ minRating: 4, sessionId: 's2', reviewed: true }))).toEqual([3]);
    });

    it('returns whole exchanges for an export, request and answer parsed', async () => {
      const request = { messages: [{ role: 'user', content: 'hi' }] } as unknown as ImportedConversation['request'];
      await seed(exchange('hi', 'hello', { request, responseId: 'resp_1' }), exchange('plain'));
      const [plain, whole] = await repo.newestExchanges({}, { limit: 10 });
      expect(plain).toMatchObject({ id: 2, request: null, answer: null, responseId: null });
      expect(whole).toMatchObject({ id: 1, request, answer: null, responseId: 'resp_1' });
    });
  });

  describe('search', () => {
    it('ranks prompt matches above response matches and marks the matches in a snippet', async () => {
      await seedFixture(SEARCH_FIXTURES.promptAboveResponse);
      const hits = await ranked('breaker');
      expect(ids(hits)).toEqual([2, 1]);
      expect(hits[0].snippet).toBe(`what is a circuit ${mark('breaker')}?`);
      expect(hits[1].snippet).toContain(`circuit ${mark('breaker')} pattern`);
      expect(hits[0].score).toBeGreaterThan(hits[1].score);
    });

    it('ranks answered exchanges (ok, cached) above failed ones (error, aborted), each by relevance', async () => {
      await seedFixture(SEARCH_FIXTURES.answeredFirst);
      const hits = await ranked('"circuit breaker"');
      expect(hits.map((hit) => [hit.id, hit.status])).toEqual([
        [4, 'cached'],
        [1, 'ok'],
        [3, 'aborted'],
        [2, 'error'],
      ]);
      const scores = hits.map((hit) => hit.score);
      expect(scores[0]).toBeGreaterThan(scores[1]);
      expect(scores[2]).toBeGreaterThan(scores[3]);
      expect(scores[3]).toBeGreaterThan(scores[0]);
      expect(ids(await newest(search('"circuit breaker"')))).toEqual([4, 3, 2, 1]);
      expect(ids(await ranked('"circuit breaker"', { statuses: ['ok', 'cached'] }))).toEqual([4, 1]);
    });

    it('pages the ranking by offset within the rows up to maxId', async () => {
      await seedFixture(SEARCH_FIXTURES.needles);
      expect(ids(await ranked('needle', {}, { limit: 2 }))).toEqual([3, 2]);
      await seedFixture(SEARCH_FIXTURES.needlesLater);
      expect(ids(await ranked('needle', {}, { maxId: 5, offset: 2, limit: 2 }))).toEqual([5, 1]);
      expect(ids(await ranked('needle', {}, { maxId: 5, offset: 4, limit: 2 }))).toEqual([4]);
      // Among equals the shorter text ranks first, as BM25 does.
      await seed(...[0, 1, 2].map((n) => exchange(`pin ${'hay '.repeat(n)}`, 'x')));
      expect(ids(await ranked('pin'))).toEqual([8, 9, 10]);
    });

    it('ranks only the newest `matches` matches below maxId, filters applied first', async () => {
      // The best match is the oldest: a prompt match in a short text; the others match in long answers.
      await seed(
        exchange('osprey', 'x'),
        exchange('hay', 'x'),
        ...[1, 2, 3, 4].map((n) => exchange(`question ${n}`, `a long answer about birds, the osprey among them ${'hay '.repeat(n)}`, { source: n % 2 ? 'api' : 'cli' })),
      );
      expect(ids(await ranked('osprey'))).toEqual([1, 3, 4, 5, 6]);
      expect(ids(await ranked('osprey', {}, { matches: 5 }))).toEqual([1, 3, 4, 5, 6]);
      // The four newest matches: the oldest, best one is not among them.
      expect(ids(await ranked('osprey', {}, { matches: 4 }))).toEqual([3, 4, 5, 6]);
      expect(ids(await ranked('osprey', {}, { matches: 2 }))).toEqual([5, 6]);
      expect(ids(await ranked('osprey', {}, { matches: 2, maxId: 5 }))).toEqual([4, 5]);
      expect(ids(await ranked('osprey', {}, { matches: 2, limit: 1, offset: 1 }))).toEqual([6]);
      // The newest matches of the filtered rows: source cli is rows 4 and 6.
      expect(ids(await ranked('osprey', { source: 'cli' }, { matches: 1 }))).toEqual([6]);
      expect(ids(await ranked('osprey', { source: 'api' }, { matches: 2 }))).toEqual([3, 5]);
      expect(ids(await ranked('osprey', { source: 'api' }, { matches: 3 }))).toEqual([1, 3, 5]);
    });

    it('matches quoted phrases, prefixes and several words (all required)', async () => {
      await seed(exchange('half open state', 'x'), exchange('open half', 'x'), exchange('Breakers everywhere', 'x'), exchange('the breakfast', 'x'));
      expect(ids(await newest(search('"half open"')))).toEqual([1]);
      expect(ids(await newest(search('half open')))).toEqual([2, 1]);
      expect(ids(await newest(search('break*')))).toEqual([4, 3]);
      expect(ids(await newest(search('the break*')))).toEqual([4]);
      expect(ids(await newest(search('BREAKERS')))).toEqual([3]);
      expect(ids(await newest(search('half nothing')))).toEqual([]);
    });

    it('finds the words of an e-mail address, a host name, a file name and a version, split at punctuation', async () => {
      await seed(
        exchange('Write to jane.doe@example.com', 'x'),
        exchange('see docs.internal.example.org/guide', 'x'),
        exchange('open report_final.pdf', 'x'),
        exchange('upgrade to v12.4.1 today', 'x'),
      );
      expect(ids(await newest(search('jane')))).toEqual([1]);
      expect(ids(await newest(search('example')))).toEqual([2, 1]);
      expect(ids(await newest(search('"doe example"')))).toEqual([1]);
      expect(ids(await newest(search('jane.doe@example.com')))).toEqual([1]);
      expect(ids(await newest(search('internal')))).toEqual([2]);
      expect(ids(await newest(search('report')))).toEqual([3]);
      expect(ids(await newest(search('pdf')))).toEqual([3]);
      expect(ids(await newest(search('v12')))).toEqual([4]);
      expect(ids(await newest(search('repo*')))).toEqual([3]);
    });

    it('ignores accents and case, in the text and in the query', async () => {
      await seed(exchange('Café crème', 'x'), exchange('naïve ÉCOLE', 'x'), exchange('cafeteria', 'x'));
      expect(ids(await newest(search('cafe')))).toEqual([1]);
      expect(ids(await newest(search('CAFÉ creme')))).toEqual([1]);
      expect(ids(await newest(search('"naive ecole"')))).toEqual([2]);
      expect(ids(await newest(search('café*')))).toEqual([3, 1]);
      const [hit] = (await newest(search('creme'))) as SearchHit[];
      expect(hit.snippet).toBe(`Café ${mark('crème')}`);
    });

    it('keeps the stored text in a snippet, markup included', async () => {
      await seedFixture(SEARCH_FIXTURES.markup);
      const [hit] = (await newest(search('token'))) as SearchHit[];
      expect(hit.snippet).toBe(`<script>alert(1)</script> ${mark('token')}`);
    });

    it('cuts a long text to a fragment around the match', async () => {
      const words = Array.from({ length: 60 }, (_, i) => `w${i}`);
      words[40] = 'needle';
      await seed(exchange('short prompt', words.join(' ')));
      const [hit] = (await newest(search('needle'))) as SearchHit[];
      expect(hit.snippet).toContain(`w39 ${mark('needle')} w41`);
      expect(hit.snippet.split(' ').length).toBeLessThanOrEqual(20);
    });

    it('treats operators and stray syntax as plain words', async () => {
      await seedFixture(SEARCH_FIXTURES.operators);
      expect(ids(await newest(search('AND OR')))).toEqual([1]);
      expect(ids(await newest(search('NOT')))).toEqual([]);
      expect(ids(await newest(search('column: (value) NEAR')))).toEqual([2]);
      expect(ids(await newest(search('dogs^ -cats +birds')))).toEqual([1]);
      expect(ids(await newest(search(`it's "a & b" !x | y <-> z:*`)))).toEqual([]);
    });

    it('combines search with the other filters and pages newest-first results by id', async () => {
      await seedFixture([...SEARCH_FIXTURES.withFilters, { prompt: 'deploy', response: 'x' }]);
      expect(ids(await newest(search('deploy', { sessionId: 'b' })))).toEqual([2]);
      expect(ids(await ranked('deploy', { minRating: 3 }))).toEqual([1]);
      const first = (await newest(search('deploy'), { limit: 2 })) as SearchHit[];
      expect(ids(first)).toEqual([3, 2]);
      expect(first[0].snippet).toBe(mark('deploy'));
      expect(ids(await newest(search('deploy'), { beforeId: 2 }))).toEqual([1]);
      // Without snippets a search answers bare rows.
      const [bare] = await repo.newest(search('deploy'), { limit: 1, snippets: false });
      expect(bare).not.toHaveProperty('snippet');
    });

    it('keeps the index in step with deletes, feedback and edits', async () => {
      const [a, b] = await seed(exchange('alpha needle', 'x'), exchange('beta needle', 'x'));
      expect(await repo.delete(a)).toBe(true);
      expect(ids(await newest(search('needle')))).toEqual([b]);
      expect(ids(await newest(search('alpha')))).toEqual([]);
      expect(await repo.updateFeedback(b, { rating: 5, notes: 'noted' })).toMatchObject({ id: b, rating: 5, notes: 'noted' });
      expect(await ranked('needle')).toEqual([expect.objectContaining({ id: b, rating: 5, notes: 'noted' })]);
      await store.execute(`UPDATE conversations SET prompt = 'gamma' WHERE id = ${b}`);
      expect(ids(await newest(search('needle')))).toEqual([]);
      expect(ids(await newest(search('gamma')))).toEqual([b]);
    });
  });

  it('looks a value with U+0000 up without failing: no stored value without one equals it', async () => {
    await seed(exchange('alpha beta', 'x', { keyId: 'k', sessionId: 's', tags: 't', responseId: 'resp_1' }));
    expect(ids(await newest({ keyId: 'k\u0000' }))).toEqual([]);
    expect(ids(await newest({ sessionId: 's\u0000' }))).toEqual([]);
    expect(ids(await newest({ tags: ['t\u0000'] }))).toEqual([]);
    expect(await repo.findByResponseId('resp_1\u0000')).toBeNull();
    expect(await repo.findById(1, 'k\u0000')).toBeNull();
    expect(ids(await newest(search('alpha\u0000beta', { keyId: 'k\u0000' })))).toEqual([]);
  });

  describe('single rows', () => {
    it('reads, updates and deletes a row, only its own key\'s when an owner is given', async () => {
      await seed(exchange('mine', 'x', { keyId: 'k1', sessionId: 's', responseId: 'resp_a' }), exchange('theirs', 'x', { keyId: 'k2', sessionId: 's' }));
      expect(await repo.findById(1, 'k1')).toMatchObject({ id: 1, prompt: 'mine' });
      expect(await repo.findById(2, 'k1')).toBeNull();
      expect(await repo.findById(3)).toBeNull();
      expect(await repo.findExchange(1)).toMatchObject({ id: 1, responseId: 'resp_a', request: null });
      expect(await repo.findByResponseId('resp_a', 'k1')).toMatchObject({ id: 1 });
      expect(await repo.findByResponseId('resp_a', 'k2')).toBeNull();
      expect(ids(await repo.session('s', { limit: 10 }))).toEqual([1, 2]);
      expect(ids(await repo.session('s', { afterId: 1, limit: 10 }))).toEqual([2]);
      expect(ids(await repo.session('s', { limit: 10 }, 'k2'))).toEqual([2]);
      expect(await repo.updateFeedback(2, { rating: 1 }, 'k1')).toBeNull();
      expect(await repo.updateFeedback(1, { reviewed: true, tags: 't' }, 'k1')).toMatchObject({ reviewed: true, tags: 't', rating: null });
      expect(await repo.updateFeedback(1, {})).toMatchObject({ id: 1, reviewed: true });
      expect(await repo.updateFeedback(9, { rating: 2 })).toBeNull();
      expect(await repo.delete(2, 'k1')).toBe(false);
      expect(await repo.delete(2, 'k2')).toBe(true);
      expect(await repo.delete(2)).toBe(false);
      expect(await repo.count()).toBe(1);
      expect(await repo.maxId()).toBe(1);
    });

    it('purges old rows in batches, oldest first', async () => {
      await seed(...[3, 1, 2, 9].map((day) => exchange(`d${day}`, 'x', { ts: new Date(`2026-01-0${day}T00:00:00Z`) })));
      expect(await repo.purgeBatch(new Date('2026-01-05T00:00:00Z'), 2)).toBe(2);
      expect((await newest({})).map((row) => row.prompt)).toEqual(['d9', 'd3']);
      expect(await repo.purgeBatch(new Date('2026-01-05T00:00:00Z'), 2)).toBe(1);
      expect(await repo.purgeBatch(new Date('2026-01-05T00:00:00Z'), 2)).toBe(0);
    });

    it('imports rows in order, a response id already held coming in without it', async () => {
      expect(await repo.maxId()).toBe(0);
      await seed(exchange('first', 'x', { responseId: 'resp_x' }));
      expect(await repo.importMany([exchange('again', 'x', { responseId: 'resp_x' }), exchange('new', 'x', { responseId: 'resp_y' }), exchange('twice', 'x', { responseId: 'resp_y' })])).toBe(3);
      const rows = await repo.newestExchanges({}, { limit: 10 });
      expect(rows.map((row) => [row.id, row.prompt, row.responseId])).toEqual([
        [4, 'twice', null],
        [3, 'new', 'resp_y'],
        [2, 'again', null],
        [1, 'first', 'resp_x'],
      ]);
      expect(await repo.importMany([])).toBe(0);
    });
  });

  describe('key usage', () => {
    it("sums the key's own uncached exchanges of the day and of the month", async () => {
      const { rows, dayStart: day, monthStart: month, spent } = KEY_USAGE_FIXTURE;
      await seed(
        ...rows.map(([ts, keyId, status, promptTokens, completionTokens, modelMs]) =>
          ({ ...fromSeed({ prompt: 'p', response: 'r', ts, status }), keyId, promptTokens, completionTokens, modelMs }),
        ),
      );
      expect(await store.keyUsage.spent('k', day, month)).toEqual(spent);
      expect(await store.keyUsage.spent('nobody', day, month)).toEqual({ day: { tokens: 0, modelMs: 0 }, month: { tokens: 0, modelMs: 0 } });
    });
  });
}
