import { DataSource } from 'typeorm';
import { buildDataSourceOptions } from '../../src/core/persistence/data-source-options';
import { MIGRATIONS } from '../../src/core/persistence/migrations/index';
import { seedConversations, SeedRow } from '../support/seed';
import { queryDb } from '../support/sqlite';
import { startTestApp, tempDir, TestApp, useAppWithFakeOllama } from '../support/test-app';

const ids = (body: { items: { id: number }[] }) => body.items.map((item) => item.id);
const row = (prompt: string, extra: Partial<SeedRow> = {}): SeedRow => ({ prompt, response: `re ${prompt}`, ...extra });

describe('sessions, conversations and feedback', () => {
  const env = useAppWithFakeOllama();
  let t: TestApp;
  beforeEach(async () => {
    t = await env.start({ RATE_LIMIT_PER_MINUTE: '0' });
  });

  describe('GET /session/{session_id}', () => {
    it("lists the session's exchanges oldest first", async () => {
      const first = await (await t.request('/chat', { body: { prompt: 'one' } })).json();
      await t.request('/chat', { body: { prompt: 'other session' } });
      await t.request('/chat', { body: { prompt: 'two', session_id: first.session_id } });
      const res = await t.request(`/session/${first.session_id}`);
      expect(res.status).toBe(200);
      const body = await res.json();
      expect(body.items.map((item: { prompt: string }) => item.prompt)).toEqual(['one', 'two']);
      expect(body.items[0]).toMatchObject({ id: 1, session_id: first.session_id, response: 'Echo: one', status: 'ok' });
      expect(body.next_cursor).toBeNull();
    });

    it('pages a long session with limit and cursor', async () => {
      await seedConversations(t.dbPath, [1, 2, 3, 4, 5].map((n) => row(`p${n}`, { session_id: 's' })));
      const first = await (await t.request('/session/s?limit=2')).json();
      expect(ids(first)).toEqual([1, 2]);
      const second = await (await t.request(`/session/s?limit=2&cursor=${first.next_cursor}`)).json();
      expect(ids(second)).toEqual([3, 4]);
      const third = await (await t.request(`/session/s?limit=2&cursor=${second.next_cursor}`)).json();
      expect(third).toMatchObject({ next_cursor: null });
      expect(ids(third)).toEqual([5]);
    });

    it('answers an empty list for an unknown session', async () => {
      const res = await t.request('/session/nobody');
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ items: [], next_cursor: null });
    });

    it.each([
      ['/session/bad%20id', 'session_id may only contain letters'],
      [`/session/${'a'.repeat(65)}`, 'session_id must be shorter than or equal to 64 characters'],
      ['/session/s?limit=0', 'limit must be an integer between 1 and 1000'],
      ['/session/s?limit=1001', 'limit must be an integer between 1 and 1000'],
      ['/session/s?cursor=%25%25', 'cursor is not valid'],
      ['/session/s?q=x', 'property q should not exist'],
    ])('answers 400 for %s', async (path, message) => {
      const res = await t.request(path);
      expect(res.status).toBe(400);
      expect((await res.json()).message).toContain(message);
    });
  });

  describe('GET /conversations/{id}', () => {
    it('answers one exchange', async () => {
      const [id] = await seedConversations(t.dbPath, [row('hello', { ts: '2026-03-04 05:06:07.089', rating: 3 })]);
      const res = await t.request(`/conversations/${id}`);
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ id, prompt: 'hello', response: 're hello', ts: '2026-03-04T05:06:07.089Z', rating: 3 });
    });

    it('answers 404 for an unknown id', async () => {
      const res = await t.request('/conversations/999');
      expect(res.status).toBe(404);
      expect(await res.json()).toEqual({ statusCode: 404, error: 'Not Found', message: 'Conversation 999 not found' });
    });

    it.each(['abc', '0', '-1', '1.5', '99999999999999999999'])('answers 400 for the id %s', async (id) => {
      const res = await t.request(`/conversations/${id}`);
      expect(res.status).toBe(400);
      expect((await res.json()).message).toContain('id must be a positive integer');
    });
  });

  describe('DELETE /conversations/{id}', () => {
    it('deletes the exchange from the history, its session and search', async () => {
      const [a, b] = await seedConversations(t.dbPath, [row('keep me', { session_id: 's' }), row('drop me', { session_id: 's' })]);
      const res = await t.request(`/conversations/${b}`, { method: 'DELETE' });
      expect(res.status).toBe(204);
      expect(await res.text()).toBe('');
      expect((await t.request(`/conversations/${b}`)).status).toBe(404);
      expect(ids(await (await t.request('/history')).json())).toEqual([a]);
      expect(ids(await (await t.request('/session/s')).json())).toEqual([a]);
      expect(ids(await (await t.request('/history?q=drop')).json())).toEqual([]);
    });

    it('answers 404 for an unknown or already deleted id, 400 for a bad one', async () => {
      const [id] = await seedConversations(t.dbPath, [row('x')]);
      expect((await t.request(`/conversations/${id}`, { method: 'DELETE' })).status).toBe(204);
      expect((await t.request(`/conversations/${id}`, { method: 'DELETE' })).status).toBe(404);
      expect((await t.request('/conversations/nope', { method: 'DELETE' })).status).toBe(400);
    });
  });

  describe('POST /feedback', () => {
    const TAGS_MESSAGE = 'tags must be comma-separated text or an array of tags without commas, at most 500 characters in all';

    it('updates only the given fields and answers the updated row', async () => {
      const [id] = await seedConversations(t.dbPath, [row('rate me')]);
      const res = await t.request('/feedback', { body: { conversation_id: id, rating: 4, tags: 'good,short' } });
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ id, rating: 4, tags: 'good,short', notes: null, reviewed: false, prompt: 'rate me' });
      const again = await (await t.request('/feedback', { body: { conversation_id: id, reviewed: true, notes: 'checked' } })).json();
      expect(again).toMatchObject({ rating: 4, tags: 'good,short', notes: 'checked', reviewed: true });
      // A row written without its request and answer (as before they were kept) reads as a chat with neither.
      expect(await (await t.request(`/conversations/${id}`)).json()).toEqual({ ...again, kind: 'chat', request: null, answer: null, response_id: null });
      expect(ids(await (await t.request('/history?reviewed=true&min_rating=4')).json())).toEqual([id]);
    });

    it('takes tags as an array too, stored comma-separated as if given so', async () => {
      const [id] = await seedConversations(t.dbPath, [row('tag me')]);
      const res = await t.request('/feedback', { body: { conversation_id: id, tags: ['good', 'concise'] } });
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ id, tags: 'good,concise' });
      expect(await queryDb(t.dbPath, 'SELECT tags FROM conversations WHERE id = ?', [id])).toEqual([{ tags: 'good,concise' }]);
    });

    it('answers 404 for an unknown conversation', async () => {
      const res = await t.request('/feedback', { body: { conversation_id: 12345, rating: 5 } });
      expect(res.status).toBe(404);
      expect((await res.json()).message).toBe('Conversation 12345 not found');
    });

    it.each([
      [{ conversation_id: 1, rating: 0 }, 'rating must be an integer between 1 and 5'],
      [{ conversation_id: 1, rating: 6 }, 'rating must be an integer between 1 and 5'],
      [{ conversation_id: 1, rating: 4.5 }, 'rating must be an integer between 1 and 5'],
      [{ conversation_id: 1, rating: '5' }, 'rating must be an integer between 1 and 5'],
      [{ rating: 5 }, 'conversation_id is required'],
      [{ conversation_id: 0, rating: 5 }, 'conversation_id must be a positive integer'],
      [{ conversation_id: '1', rating: 5 }, 'conversation_id must be a positive integer'],
      [{ conversation_id: 1, reviewed: 'yes' }, 'reviewed must be a boolean value'],
      [{ conversation_id: 1, tags: 'x'.repeat(501) }, TAGS_MESSAGE],
      [{ conversation_id: 1, tags: ['x'.repeat(300), 'y'.repeat(300)] }, TAGS_MESSAGE],
      [{ conversation_id: 1, tags: ['good', 7] }, TAGS_MESSAGE],
      [{ conversation_id: 1, tags: ['good,bad'] }, TAGS_MESSAGE],
      [{ conversation_id: 1, notes: 7 }, 'notes must be a string'],
      [{ conversation_id: 1, rating: 5, stars: 5 }, 'property stars should not exist'],
      [{ conversation_id: 1 }, 'give at least one of rating, tags, notes, reviewed'],
    ])('answers 400 naming the problem once for %j', async (body, message) => {
      await seedConversations(t.dbPath, [row('x')]);
      const res = await t.request('/feedback', { body });
      expect(res.status).toBe(400);
      expect((await res.json()).message).toBe(message);
    });
  });
});

describe('the full-text index migration', () => {
  it('indexes the rows of a database made before it', async () => {
    const { dir, remove } = tempDir();
    const path = `${dir}/old.db`;
    try {
      const options = buildDataSourceOptions({ database: { type: 'sqlite', path } });
      const old = await new DataSource({ ...options, migrations: [MIGRATIONS[0]] }).initialize();
      await old.query(`INSERT INTO conversations (prompt, response, source) VALUES ('legacy question about tides', 'answer', 'cli')`);
      await old.destroy();
      const t = await startTestApp({ DATABASE_URL: `sqlite:${path}`, OLLAMA_URL: 'http://127.0.0.1:9' });
      try {
        const body = await (await t.request('/history?q=tides')).json();
        expect(body.items).toHaveLength(1);
        expect(body.items[0]).toMatchObject({ id: 1, source: 'cli', snippet: 'legacy question about <mark>tides</mark>' });
      } finally {
        await t.close();
      }
    } finally {
      remove();
    }
  });
});
