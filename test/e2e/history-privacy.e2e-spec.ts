import { runVega } from '../support/cli';
import { queryDb } from '../support/sqlite';
import { scopedKeys, TestApp, useAppWithFakeOllama } from '../support/test-app';

// key-1 and key-2 see only their own exchanges; key-3 sees everyone's; key-4 administers but sees only its own.
const ALICE = 'alice-key-0123456789abcdef';
const BOB = 'bob-key-0123456789abcdef0';
const AUDITOR = 'auditor-key-0123456789abc';
const OPERATOR = 'operator-key-0123456789ab';
const keys = () =>
  scopedKeys({
    [ALICE]: ['chat', 'history:own'],
    [BOB]: ['chat', 'history:own'],
    [AUDITOR]: ['history:all'],
    [OPERATOR]: ['chat', 'admin', 'history:own'],
  });

interface Row {
  id: number;
  key_id: string | null;
  rating: number | null;
}

/** One key never sees, changes or deletes another key's exchanges; a history:all key sees them all and can pick one key's. */
describe('privacy between keys (e2e)', () => {
  const harness = useAppWithFakeOllama();
  const fake = harness.fake;
  let t: TestApp;
  let alice: number;
  let bob: number;
  let primary: number;

  const chat = async (key: string | undefined, prompt: string, sessionId: string): Promise<number> => {
    const res = await t.request('/chat', { key, body: { prompt, session_id: sessionId } });
    expect(res.status).toBe(200);
    return (await res.json()).conversation_id;
  };
  const ids = (body: { items: { id: number }[] }) => body.items.map((item) => item.id);
  const json = async (path: string, key?: string, init: { method?: string; body?: unknown } = {}) => {
    const res = await t.request(path, { key, ...init });
    return { status: res.status, body: res.status === 204 ? null : await res.json() };
  };
  const rows = () => queryDb<Row>(t.dbPath, 'SELECT id, key_id, rating FROM conversations ORDER BY id');

  beforeEach(async () => {
    t = await harness.start({ RATE_LIMIT_PER_MINUTE: '0' }, { keyStores: [keys()] });
    alice = await chat(ALICE, 'alice secret plum', 'alice-session');
    bob = await chat(BOB, 'bob secret pear', 'bob-session');
    primary = await chat(undefined, 'primary secret fig', 'primary-session');
    expect((await rows()).map((row) => row.key_id)).toEqual(['key-1', 'key-2', 'primary']);
  });

  it('lists, searches and pages only the key\'s own exchanges, each with its key_id', async () => {
    const own = await json('/history', ALICE);
    expect(own.status).toBe(200);
    expect(own.body.items).toEqual([expect.objectContaining({ id: alice, key_id: 'key-1', prompt: 'alice secret plum' })]);
    expect(ids((await json('/history', BOB)).body)).toEqual([bob]);
    for (const query of ['q=secret', 'q=secret&sort=newest', 'q=pear', 'source=api', 'session_id=bob-session', 'limit=1']) {
      expect({ query, ids: ids((await json(`/history?${query}`, ALICE)).body) }).toEqual({ query, ids: query.includes('pear') || query.includes('bob') ? [] : [alice] });
    }
    // A cursor from anyone walks only the caller's rows.
    const next = (await json('/history?limit=1', undefined)).body.next_cursor;
    expect(ids((await json(`/history?limit=5&cursor=${next}`, ALICE)).body)).toEqual([alice]);
  });

  it('answers 404 for another key\'s exchange, exactly as for one that does not exist, and changes nothing', async () => {
    const missing = await json('/conversations/999', ALICE);
    expect(missing).toEqual({ status: 404, body: { statusCode: 404, error: 'Not Found', message: 'Conversation 999 not found' } });
    expect(await json(`/conversations/${bob}`, ALICE)).toEqual({ status: 404, body: { ...missing.body, message: `Conversation ${bob} not found` } });
    expect((await json(`/conversations/${alice}`, ALICE)).body).toMatchObject({ id: alice, key_id: 'key-1', kind: 'chat' });

    expect((await json('/feedback', ALICE, { body: { conversation_id: bob, rating: 1 } })).status).toBe(404);
    expect((await json('/feedback', ALICE, { body: { conversation_id: alice, rating: 5 } })).body).toMatchObject({ id: alice, rating: 5, key_id: 'key-1' });
    expect((await json(`/conversations/${bob}`, ALICE, { method: 'DELETE' })).status).toBe(404);
    expect((await json(`/conversations/${primary}`, BOB, { method: 'DELETE' })).status).toBe(404);
    expect(await rows()).toEqual([
      { id: alice, key_id: 'key-1', rating: 5 },
      { id: bob, key_id: 'key-2', rating: null },
      { id: primary, key_id: 'primary', rating: null },
    ]);
    expect((await json(`/conversations/${alice}`, ALICE, { method: 'DELETE' })).status).toBe(204);
    expect((await rows()).map((row) => row.id)).toEqual([bob, primary]);
  });

  it('shows another key\'s session as empty, and keeps it out of the chat memory', async () => {
    expect((await json('/session/bob-session', ALICE)).body).toEqual({ items: [], next_cursor: null });
    expect(ids((await json('/session/bob-session', BOB)).body)).toEqual([bob]);

    fake.reset();
    await chat(ALICE, 'what did I say before?', 'bob-session');
    const [sent] = fake.chatRequests();
    expect(sent.body.messages.map((message: { content: string }) => message.content)).toEqual(['what did I say before?']);
    // The owner's own memory still works.
    await chat(BOB, 'and now?', 'bob-session');
    const [, bobs] = fake.chatRequests();
    expect(bobs.body.messages.map((message: { content: string }) => message.content)).toEqual(['bob secret pear', expect.any(String), 'and now?']);
  });

  it('lets a history:all key see every key\'s exchanges and pick one key\'s with key_id; refuses key_id naming another key to a history:own key', async () => {
    const everyone = await json('/history', AUDITOR);
    expect(everyone.body.items.map((item: { id: number; key_id: string }) => [item.id, item.key_id])).toEqual([
      [primary, 'primary'],
      [bob, 'key-2'],
      [alice, 'key-1'],
    ]);
    expect(ids((await json('/history?key_id=key-2', AUDITOR)).body)).toEqual([bob]);
    expect(ids((await json('/history?key_id=key-2&q=secret', undefined)).body)).toEqual([bob]);
    expect(ids((await json('/history?key_id=nobody', AUDITOR)).body)).toEqual([]);
    expect((await json(`/conversations/${alice}`, AUDITOR)).status).toBe(200);

    expect(ids((await json('/history?key_id=key-1', ALICE)).body)).toEqual([alice]);
    expect(await json('/history?key_id=key-2', ALICE)).toEqual({
      status: 403,
      body: {
        statusCode: 403,
        error: 'Forbidden',
        message: "key_id names another key: this key holds history:own and sees only its own exchanges (history:all sees every key's)",
      },
    });
    expect((await json('/history?key_id=', AUDITOR)).status).toBe(400);
  });

  it('exports only the key\'s own exchanges, whole or curated, to an admin key that holds history:own', async () => {
    await chat(OPERATOR, 'operator secret kiwi', 'operator-session');
    const res = await t.request('/admin/export', { key: OPERATOR });
    expect(res.status).toBe(200);
    const lines = (await res.text()).trimEnd().split('\n').map((line) => JSON.parse(line));
    expect(lines.map((line) => [line.prompt, line.key_id])).toEqual([['operator secret kiwi', 'key-4']]);
    // The curated training set too.
    const curated = await t.request('/admin/export?format=prompt-response', { key: OPERATOR });
    expect((await curated.text()).trimEnd().split('\n').map((line) => JSON.parse(line).prompt)).toEqual(['operator secret kiwi']);
    const all = await t.request('/admin/export');
    expect((await all.text()).trimEnd().split('\n')).toHaveLength(4);
  });

  it('leaves the CLI, which reads the database as its owner, every key\'s exchanges', async () => {
    const result = await runVega(['history', '--json'], { env: { VEGA_DATA_DIR: t.dataDir, OLLAMA_URL: fake.url, ...t.databaseEnv } });
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout).items.map((item: { id: number; key_id: string }) => [item.id, item.key_id])).toEqual([
      [primary, 'primary'],
      [bob, 'key-2'],
      [alice, 'key-1'],
    ]);
  });

  it('shows the model server (target) that answered to admin keys only: header, history, session, exchange and feedback', async () => {
    const target = new URL(fake.url).host;
    const stored = await queryDb<{ target: string | null }>(t.dbPath, 'SELECT target FROM conversations ORDER BY id');
    expect(stored.map((row) => row.target)).toEqual([target, target, target]);

    const answer = await t.request('/chat', { key: ALICE, body: { prompt: 'which server?', session_id: 'alice-session' } });
    expect(answer.headers.get('x-vega-model')).toBe('mistral');
    expect(answer.headers.get('x-vega-target')).toBeNull();
    const stream = await t.request('/v1/chat/completions', { key: ALICE, body: { model: 'mistral', stream: true, messages: [{ role: 'user', content: 'streamed' }] } });
    expect(stream.headers.get('x-vega-model')).toBe('mistral');
    expect(stream.headers.get('x-vega-target')).toBeNull();
    await stream.text();
    const operator = await t.request('/chat', { key: OPERATOR, body: { prompt: 'which server, operator?', session_id: 'operator-session' } });
    expect(operator.headers.get('x-vega-target')).toBe(target);
    const operatorRow = (await operator.json()).conversation_id as number;

    const targets = (body: { items: { target: string | null }[] }) => body.items.map((item) => item.target);
    for (const path of ['/history', '/history?q=secret', '/session/alice-session']) {
      const own = await json(path, ALICE);
      expect({ path, status: own.status }).toEqual({ path, status: 200 });
      expect(own.body.items.length).toBeGreaterThan(0);
      expect({ path, targets: targets(own.body) }).toEqual({ path, targets: own.body.items.map(() => null) });
    }
    expect((await json(`/conversations/${alice}`, ALICE)).body).toMatchObject({ id: alice, target: null, served_model: 'mistral' });
    expect((await json('/feedback', ALICE, { body: { conversation_id: alice, rating: 1 } })).body).toMatchObject({ id: alice, rating: 1, target: null });
    // history:all without admin: every key's rows, no server names.
    const audited = await json('/history', AUDITOR);
    expect(audited.body.items.length).toBeGreaterThanOrEqual(5);
    expect(new Set(targets(audited.body))).toEqual(new Set([null]));

    expect((await json(`/conversations/${operatorRow}`, OPERATOR)).body).toMatchObject({ target });
    expect((await json('/history')).body.items.every((item: { target: string | null }) => item.target === target)).toBe(true);
  });

  it('holds for a managed key made with POST /admin/keys: its rows carry its id, and it sees only them', async () => {
    const created = await json('/admin/keys', undefined, { body: { name: 'carol', scopes: ['chat', 'history:own'] } });
    expect(created.status).toBe(201);
    const carol = created.body.secret as string;
    const mine = await chat(carol, 'carol secret lime', 'carol-session');
    const own = await json('/history', carol);
    expect(own.body.items.map((item: { id: number; key_id: string }) => [item.id, item.key_id])).toEqual([[mine, created.body.id]]);
    expect((await json(`/conversations/${alice}`, carol)).status).toBe(404);
    expect(ids((await json(`/history?key_id=${created.body.id}`, AUDITOR)).body)).toEqual([mine]);
  });
});
