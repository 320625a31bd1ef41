import { CurateService } from '../../src/modules/datasets/curate.service';
import { execDb, seedConversations, SeedRow } from '../support/seed';
import { TestApp, TestResponse, useAppWithFakeOllama } from '../support/test-app';

/** A stored-format UTC time `days` days before now. */
const daysAgo = (days: number) => new Date(Date.now() - days * 86_400_000).toISOString().replace('T', ' ').slice(0, 23);

describe('curated export (GET /admin/export?format=, CurateService)', () => {
  const env = useAppWithFakeOllama();
  let t: TestApp;
  const start = async (vars: Record<string, string> = {}) => {
    t = await env.start({ RATE_LIMIT_PER_MINUTE: '0', ...vars });
    return t;
  };
  const seed = (rows: SeedRow[]) => seedConversations(t.dbPath, rows);
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const lines = async (query: string): Promise<any[]> => {
    const res: TestResponse = await t.request(`/admin/export${query}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/x-ndjson; charset=utf-8');
    const text = await res.text();
    return text === '' ? [] : text.trimEnd().split('\n').map((line) => JSON.parse(line));
  };
  const prompts = async (query: string) => (await lines(`?format=prompt-response${query}`)).map((record) => record.prompt);

  describe('GET /admin/export?format=', () => {
    beforeEach(() => start());

    it('writes each format in its shape, newest first, with a curated file name', async () => {
      await seed([
        { prompt: 'older question', response: 'older answer' },
        { prompt: 'What is WAL?', response: 'A write-ahead log.' },
      ]);
      expect(await lines('?format=prompt-response')).toEqual([
        { prompt: 'What is WAL?', response: 'A write-ahead log.' },
        { prompt: 'older question', response: 'older answer' },
      ]);
      expect((await lines('?format=chat'))[0]).toEqual({
        messages: [
          { role: 'user', content: 'What is WAL?' },
          { role: 'assistant', content: 'A write-ahead log.' },
        ],
      });
      expect((await lines('?format=alpaca'))[0]).toEqual({ instruction: 'What is WAL?', input: '', output: 'A write-ahead log.' });
      expect((await lines('?format=sharegpt'))[0]).toEqual({
        conversations: [
          { from: 'human', value: 'What is WAL?' },
          { from: 'gpt', value: 'A write-ahead log.' },
        ],
      });
      const res = await t.request('/admin/export?format=chat');
      expect(res.headers.get('content-disposition')).toMatch(/^attachment; filename="vega-curated-chat-\d{8}T\d{6}\.jsonl"$/);
      expect(res.headers.get('cache-control')).toBe('no-store');
    });

    it('keeps only ok exchanges with a prompt and a response', async () => {
      await seed([
        { prompt: 'fine', response: 'ok answer' },
        { prompt: 'failed', response: '', status: 'error' },
        { prompt: 'cut short', response: 'partial', status: 'aborted' },
        { prompt: 'from cache', response: 'cached answer', status: 'cached' },
        { prompt: 'empty answer', response: '   ' },
      ]);
      expect(await prompts('')).toEqual(['fine']);
    });

    it('leaves out embedding calls and raw completions, which are not chats', async () => {
      await seed([
        { prompt: 'a chat', response: 'its answer', source: 'openai' },
        // As /v1/embeddings and /v1/completions store them.
        { prompt: 'embeddings: 2 inputs', response: '2 vectors of 768 dimensions', source: 'openai' },
        { prompt: 'def add(a, b):', response: '\n    return a + b', source: 'openai' },
      ]);
      await execDb(t.dbPath, `UPDATE conversations SET kind = CASE id WHEN 2 THEN 'embedding' WHEN 3 THEN 'completion' ELSE kind END`);
      expect(await prompts('')).toEqual(['a chat']);
      const dataset = t.app.get(CurateService).curate({}, 'chat');
      const written: string[] = [];
      for await (const line of dataset.lines) written.push(line);
      expect(written.map((line) => JSON.parse(line).messages[0].content)).toEqual(['a chat']);
      expect(dataset.summary().skipped_rows).toEqual([{ reason: 'not-chat', count: 2, examples: ['#3', '#2'] }]);
    });

    it('collapses exact and near-duplicate prompts (case, whitespace, punctuation, Unicode forms), keeping the newest', async () => {
      await seed([
        { prompt: 'What is WAL mode?', response: 'oldest' },
        { prompt: 'unrelated', response: 'u' },
        { prompt: 'what   is wal\nmode', response: 'middle' },
        { prompt: 'What is WAL mode?', response: 'exact repeat' },
        { prompt: 'ＷＨＡＴ IS WAL MODE!!', response: 'newest' },
        { prompt: 'What is WAL mode for?', response: 'a different question' },
      ]);
      expect(await lines('?format=prompt-response')).toEqual([
        { prompt: 'What is WAL mode for?', response: 'a different question' },
        { prompt: 'ＷＨＡＴ IS WAL MODE!!', response: 'newest' },
        { prompt: 'unrelated', response: 'u' },
      ]);
    });

    it('keeps the newest exchange that passes the filters and is ok, when newer copies do not', async () => {
      await seed([
        { prompt: 'Explain the breaker', response: 'rated well', rating: 5 },
        { prompt: 'explain the breaker.', response: 'rated badly', rating: 2 },
        { prompt: 'Explain the breaker!', response: 'failed', rating: 5, status: 'error' },
      ]);
      expect(await lines('?format=prompt-response&min_rating=4')).toEqual([{ prompt: 'Explain the breaker', response: 'rated well' }]);
      expect(await lines('?format=prompt-response')).toEqual([{ prompt: 'explain the breaker.', response: 'rated badly' }]);
    });

    it('masks personal data in prompt and response even with PII_MASKING off, and dedupes what it writes', async () => {
      expect(t.config.privacy.piiMasking).toBe(false);
      await seed([
        { prompt: 'Write to jane.doe@example.com about card 4111 1111 1111 1111', response: 'Sent to jane.doe@example.com from 192.168.1.20' },
        { prompt: 'Write to john@example.org about card 5500 0000 0000 0004', response: 'newer, same prompt once masked' },
      ]);
      expect(await lines('?format=prompt-response')).toEqual([
        { prompt: 'Write to [EMAIL] about card [CARD]', response: 'newer, same prompt once masked' },
      ]);
      const [{ prompt }] = await lines('?format=prompt-response&q=jane');
      expect(prompt).toBe('Write to [EMAIL] about card [CARD]');
      const [row] = await lines('?q=jane');
      expect(row.prompt).toBe('Write to jane.doe@example.com about card 4111 1111 1111 1111');
    });

    it('filters by min_rating, reviewed, since and tags (any of them, trimmed, case-insensitive)', async () => {
      await seed([
        { prompt: 'p1 unrated', response: 'r', ts: daysAgo(30) },
        { prompt: 'p2 rated 3', response: 'r', rating: 3, tags: 'Good, concise', ts: daysAgo(20) },
        { prompt: 'p3 rated 4', response: 'r', rating: 4, reviewed: 1, tags: 'verbose', ts: daysAgo(10) },
        { prompt: 'p4 rated 5', response: 'r', rating: 5, tags: 'goodish,needs work ', ts: daysAgo(1) },
        { prompt: 'p5 rated 5', response: 'r', rating: 5, reviewed: 1, tags: ' GOOD ', ts: daysAgo(0) },
      ]);
      expect(await prompts('&min_rating=4')).toEqual(['p5 rated 5', 'p4 rated 5', 'p3 rated 4']);
      expect(await prompts('&reviewed=true')).toEqual(['p5 rated 5', 'p3 rated 4']);
      expect(await prompts(`&since=${encodeURIComponent(daysAgo(15).replace(' ', 'T'))}Z`)).toEqual(['p5 rated 5', 'p4 rated 5', 'p3 rated 4']);
      expect(await prompts(`&since=${new Date(Date.now() - 25 * 86_400_000).toISOString().slice(0, 10)}`)).toHaveLength(4);
      expect(await prompts('&tags=good')).toEqual(['p5 rated 5', 'p2 rated 3']);
      expect(await prompts('&tags=%20Needs%20Work,verbose,,')).toEqual(['p4 rated 5', 'p3 rated 4']);
      expect(await prompts('&tags=good&min_rating=4&reviewed=true')).toEqual(['p5 rated 5']);
      expect(await prompts('&tags=nothing')).toEqual([]);
    });

    it('compares tags the same way in the query and in the database: ASCII letters ignore case, other letters as written', async () => {
      await seed([
        { prompt: 'accented', response: 'r', tags: 'Été,\tQualité\n' },
        { prompt: 'upper', response: 'r', tags: 'ÉTÉ' },
      ]);
      expect(await prompts(`&tags=${encodeURIComponent('Été')}`)).toEqual(['accented']);
      expect(await prompts(`&tags=${encodeURIComponent('été')}`)).toEqual([]);
      expect(await prompts(`&tags=${encodeURIComponent('ÉTÉ')}`)).toEqual(['upper']);
      expect(await prompts(`&tags=${encodeURIComponent(' QUALITé ')}`)).toEqual(['accented']);
    });

    it('reads a large table in batches and keeps the newest of each prompt across batch boundaries', async () => {
      await execDb(
        t.dbPath,
        `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2600)
         INSERT INTO conversations (prompt, response, status) SELECT 'Question ' || (i % 1000), 'answer ' || i, 'ok' FROM n`,
      );
      const records = await lines('?format=prompt-response');
      expect(records).toHaveLength(1000);
      expect(records[0]).toEqual({ prompt: 'Question 600', response: 'answer 2600' });
      expect(records.every((record) => Number(record.response.slice(7)) > 1600)).toBe(true);
    });

    it('turns chats stored through the API into a dataset: rated, cached repeats left out', async () => {
      const chat = async (prompt: string) => (await (await t.request('/chat', { body: { prompt } })).json()).conversation_id as number;
      const first = await chat('Tell me about SQLite');
      const repeat = await chat('Tell me about SQLite');
      const other = await chat('Call me on +44 20 7946 0958');
      await chat('Not rated');
      for (const id of [first, repeat, other]) {
        expect((await t.request('/feedback', { body: { conversation_id: id, rating: 5, tags: 'good' } })).status).toBe(200);
      }
      expect((await (await t.request(`/conversations/${repeat}`)).json()).status).toBe('cached');
      expect((await lines('?format=chat')).map((record) => record.messages[0].content)).toContain('Not rated');
      expect(await lines('?format=chat&tags=good')).toEqual([
        { messages: [{ role: 'user', content: 'Call me on [PHONE]' }, { role: 'assistant', content: 'Echo: Call me on [PHONE]' }] },
        { messages: [{ role: 'user', content: 'Tell me about SQLite' }, { role: 'assistant', content: 'Echo: Tell me about SQLite' }] },
      ]);
    });

    it.each([
      ['?format=xml', 'format must be one of chat, alpaca, sharegpt, prompt-response'],
      ['?format=chat&min_rating=0', 'min_rating must be an integer between 1 and 5'],
      ['?format=chat&since=yesterday', 'since must be an ISO 8601 date'],
      ['?format=chat&reviewed=yes', 'reviewed must be true or false'],
      ['?format=chat&tags=,%20,', 'tags must be a comma-separated list naming at least one tag'],
      ['?format=chat&tags=a&tags=b', 'tags must be a comma-separated list'],
      ['?format=chat&dedupe=false', 'property dedupe should not exist'],
    ])('answers a plain 400 naming the field for %s', async (query, message) => {
      const res = await t.request(`/admin/export${query}`);
      expect(res.status).toBe(400);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      expect((await res.json()).message).toContain(message);
    });

    it('documents format and tags in Swagger', async () => {
      const document = await (await t.request('/docs-json', { key: null })).json();
      const parameters: { name: string; schema: { enum?: string[] } }[] = document.paths['/admin/export'].get.parameters;
      expect(parameters.find((parameter) => parameter.name === 'format')?.schema.enum).toEqual(['chat', 'alpaca', 'sharegpt', 'prompt-response']);
      expect(parameters.map((parameter) => parameter.name)).toEqual(expect.arrayContaining(['tags', 'min_rating', 'reviewed', 'since']));
    });
  });

  describe('GET /admin/export without format', () => {
    beforeEach(() => start());

    it('still streams the raw conversations, every status, duplicates and PII as stored; tags filter them too', async () => {
      await seed([
        { prompt: 'mail a@example.com', response: 'r', tags: 'good' },
        { prompt: 'mail a@example.com', response: 'r', status: 'error' },
      ]);
      const rows = await lines('');
      expect(rows.map((row) => [row.id, row.prompt, row.status])).toEqual([
        [2, 'mail a@example.com', 'error'],
        [1, 'mail a@example.com', 'ok'],
      ]);
      // Exactly what GET /conversations/{id} answers, kind, request and answer included.
      expect(rows[1]).toEqual(await (await t.request('/conversations/1')).json());
      expect((await lines('?tags=GOOD')).map((row) => row.id)).toEqual([1]);
    });
  });

  describe(`${CurateService.name}.curate`, () => {
    beforeEach(() => start());

    it('counts rows read, written and skipped by reason, and what it masked', async () => {
      await seed([
        { prompt: 'Ping 10.0.0.1?', response: 'mail ops@example.com' },
        { prompt: 'failed', response: '', status: 'error' },
        { prompt: 'ping 10.0.0.1', response: 'newest' },
        { prompt: 'cut', response: 'partial', status: 'aborted' },
        { prompt: 'Ping 10.0.0.1', response: 'duplicate' },
      ]);
      const dataset = t.app.get(CurateService).curate({}, 'alpaca');
      const written: string[] = [];
      for await (const line of dataset.lines) written.push(line);
      expect(written.map((line) => JSON.parse(line))).toEqual([{ instruction: 'Ping [IP]', input: '', output: 'duplicate' }]);
      expect(dataset.summary()).toEqual({
        format: 'alpaca',
        rows_read: 5,
        records_written: 1,
        rows_skipped: 4,
        skipped_rows: [
          { reason: 'duplicate', count: 2, examples: ['#3', '#1'] },
          { reason: 'status-aborted', count: 1, examples: ['#4'] },
          { reason: 'status-error', count: 1, examples: ['#2'] },
        ],
        pii_masked: { ip: 1 },
      });
    });

    it('refuses a bad filter before reading anything', () => {
      const curate = t.app.get(CurateService);
      expect(() => curate.curate({ since: new Date('nope') }, 'chat')).toThrow('since must be an ISO 8601 date or date-time');
      expect(() => curate.curate({ tags: [' ', ''] }, 'chat')).toThrow('tags must name at least one tag');
    });
  });
});
