import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { keyDigest } from '../../src/common/auth/api-key-store';
import { eventually } from '../support/eventually';
import { queryDb } from '../support/sqlite';
import { scopedKeys, useAppWithFakeOllama, type TestApp } from '../support/test-app';
import { isPostgresTarget } from '../support/test-database';

jest.setTimeout(60_000);

const CHAT_ONLY = 'chat-only-key-0123456789abcdef';
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

const create = (app: TestApp, body: unknown) => app.request('/admin/keys', { method: 'POST', body });
const chat = (app: TestApp, key: string) => app.request('/v1/chat/completions', { method: 'POST', key, body: { model: 'mistral', messages: [{ role: 'user', content: 'hi' }] } });

describe('managed keys (/admin/keys, GET /me) (e2e)', () => {
  const harness = useAppWithFakeOllama(['mistral']);
  const start = (env: Record<string, string> = {}) => harness.start(env, { keyStores: [scopedKeys({ [CHAT_ONLY]: ['chat'] })] });

  describe('POST /admin/keys', () => {
    it('creates a key whose secret is shown once and works at once, with its scopes', async () => {
      const app = await start();
      const res = await create(app, { name: 'alice', scopes: ['history:own', 'chat'], models: ['mistral'], limits: { tokens_per_day: 1000 } });
      expect(res.status).toBe(201);
      const body = await res.json();
      expect(body).toEqual({
        id: expect.stringMatching(/^key_[0-9a-f]{16}$/),
        name: 'alice',
        prefix: body.secret.slice(0, 10),
        status: 'active',
        scopes: ['chat', 'history:own'],
        models: ['mistral'],
        limits: { tokens_per_day: 1000 },
        expires_at: null,
        created_at: expect.stringMatching(ISO),
        updated_at: body.created_at,
        last_used_at: null,
        revoked_at: null,
        secret: expect.stringMatching(/^vk-[A-Za-z0-9_-]{43}$/),
      });

      expect((await chat(app, body.secret)).status).toBe(200);
      const me = await app.request('/me', { key: body.secret });
      expect(me.status).toBe(200);
      expect(await me.json()).toEqual({ key_id: body.id, name: 'alice', kind: 'managed', scopes: ['chat', 'history:own'], models: ['mistral'], limits: { tokens_per_day: 1000 } });
      const admin = await app.request('/admin/keys', { key: body.secret });
      expect(admin.status).toBe(403);
      expect((await admin.json()).message).toBe('This route needs a key with the admin scope');

      // The exchange is charged to the managed key, and its use noted (off the request path).
      const rows = await queryDb<{ key_id: string }>(app.dbPath, 'SELECT key_id FROM conversations');
      expect(rows).toEqual([{ key_id: body.id }]);
      const used = await eventually(
        async () => (await (await app.request(`/admin/keys/${body.id}`)).json()).last_used_at as string | null,
        (value) => value !== null,
      );
      expect(used).toMatch(ISO);
    });

    it('enforces the key\'s own requests per minute', async () => {
      const app = await start();
      const { secret } = await (await create(app, { name: 'slow', scopes: ['chat'], limits: { requests_per_minute: 2 } })).json();
      expect((await app.request('/me', { key: secret })).status).toBe(200);
      expect((await app.request('/me', { key: secret })).status).toBe(200);
      const third = await app.request('/me', { key: secret });
      expect(third.status).toBe(429);
      expect(third.headers.get('retry-after')).toMatch(/^\d+$/);
    });

    it('refuses bad input with 400 naming the field, a taken name with 409', async () => {
      const app = await start();
      const cases: [unknown, RegExp][] = [
        [{ scopes: ['chat'] }, /^name is required$/],
        [{ name: 'has space', scopes: ['chat'] }, /^name must be 1 to 64 letters/],
        [{ name: 'x'.repeat(65), scopes: ['chat'] }, /^name must be 1 to 64/],
        [{ name: 42, scopes: ['chat'] }, /^name must be/],
        [{ name: null, scopes: ['chat'] }, /^name must be/],
        [{ name: 'a', scopes: null }, /^scopes must be a non-empty list/],
        [{ name: 'primary', scopes: ['chat'] }, /^name "primary" is reserved/],
        [{ name: 'extra-2', scopes: ['chat'] }, /reserved/],
        [{ name: 'key_0123456789abcdef', scopes: ['chat'] }, /reserved/],
        [{ name: 'a' }, /^scopes is required$/],
        [{ name: 'a', scopes: [] }, /^scopes must be a non-empty list of: chat, research, history:own, history:all, admin$/],
        [{ name: 'a', scopes: 'chat' }, /^scopes must be a non-empty list/],
        [{ name: 'a', scopes: ['chat', 'root'] }, /^scopes: unknown scope "root" \(known: chat, research, history:own, history:all, admin\)$/],
        [{ name: 'a', scopes: ['chat'], models: [] }, /^models must be a list of 1 to 100 model names/],
        [{ name: 'a', scopes: ['chat'], models: [''] }, /^models must be a list.*"" is not one$/],
        [{ name: 'a', scopes: ['chat'], models: 'mistral' }, /^models must be a list/],
        [{ name: 'a', scopes: ['chat'], limits: [] }, /^limits must be an object of: requests_per_minute, tokens_per_minute/],
        [{ name: 'a', scopes: ['chat'], limits: { tokens_per_year: 5 } }, /^limits\.tokens_per_year is not a limit \(known: requests_per_minute/],
        [{ name: 'a', scopes: ['chat'], limits: { tokens_per_day: -1 } }, /^limits\.tokens_per_day must be a whole number from 0 \(no limit\)/],
        [{ name: 'a', scopes: ['chat'], limits: { tokens_per_day: 1.5 } }, /^limits\.tokens_per_day must be a whole number/],
        [{ name: 'a', scopes: ['chat'], limits: { tokens_per_day: '100' } }, /^limits\.tokens_per_day must be a whole number/],
        [{ name: 'a', scopes: ['chat'], limits: { tokens_per_day: 1e13 } }, /^limits\.tokens_per_day must be a whole number/],
        [{ name: 'a', scopes: ['chat'], expires_at: 'tomorrow' }, /^expires_at must be an ISO 8601 date or date-time/],
        [{ name: 'a', scopes: ['chat'], expires_at: 1234 }, /^expires_at must be an ISO 8601/],
        [{ name: 'a', scopes: ['chat'], expires_at: '2020-01-01' }, /^expires_at 2020-01-01T00:00:00\.000Z is not in the future$/],
        [{ name: 'a', scopes: ['chat'], secret: 'vk-mine' }, /property secret should not exist/],
        [{ name: 'a', scopes: ['chat'], id: 'key_1' }, /property id should not exist/],
      ];
      for (const [body, message] of cases) {
        const res = await create(app, body);
        const answer = await res.json();
        expect({ body, status: res.status, message: answer.message }).toEqual({ body, status: 400, message: expect.stringMatching(message) });
      }
      for (const raw of ['[]', '"alice"', 'null', '{"name":']) {
        const res = await app.request('/admin/keys', { method: 'POST', body: raw });
        expect({ raw, status: res.status }).toEqual({ raw, status: 400 });
      }
      expect((await create(app, { name: 'bob', scopes: ['chat'] })).status).toBe(201);
      const taken = await create(app, { name: 'bob', scopes: ['admin'] });
      expect(taken.status).toBe(409);
      expect((await taken.json()).message).toBe('A key named "bob" exists already');
      const listed = await (await app.request('/admin/keys')).json();
      expect(listed.items.map((key: { name: string }) => key.name)).toEqual(['bob']);
    });

    it('is for admin keys only', async () => {
      const app = await start();
      const res = await create(app, { name: 'sneaky', scopes: ['admin'] });
      expect(res.status).toBe(201);
      const refused = await app.request('/admin/keys', { method: 'POST', key: CHAT_ONLY, body: { name: 'mine', scopes: ['admin'] } });
      expect(refused.status).toBe(403);
      const noKey = await app.request('/admin/keys', { key: null });
      expect(noKey.status).toBe(401);
    });
  });

  describe('GET /admin/keys and GET /admin/keys/{id}', () => {
    it('lists the managed keys oldest first, revoked ones only when asked; shows one by id or name', async () => {
      const app = await start();
      const a = await (await create(app, { name: 'a', scopes: ['chat'] })).json();
      const b = await (await create(app, { name: 'b', scopes: ['research'], expires_at: '2099-01-01' })).json();
      expect((await app.request('/admin/keys/a/revoke', { method: 'POST' })).status).toBe(200);

      const active = await (await app.request('/admin/keys')).json();
      expect(active).toEqual({ items: [expect.objectContaining({ id: b.id, name: 'b', status: 'active', expires_at: '2099-01-01T00:00:00.000Z' })] });
      expect(active.items[0]).not.toHaveProperty('secret');
      const all = await (await app.request('/admin/keys?include_revoked=true')).json();
      expect(all.items.map((key: { name: string; status: string }) => [key.name, key.status])).toEqual([
        ['a', 'revoked'],
        ['b', 'active'],
      ]);
      expect((await app.request('/admin/keys?include_revoked=yes')).status).toBe(400);
      expect((await app.request('/admin/keys?limit=5')).status).toBe(400);

      const { secret: _secret, ...withoutSecret } = b;
      expect(await (await app.request(`/admin/keys/${b.id}`)).json()).toEqual(withoutSecret);
      expect(await (await app.request('/admin/keys/b')).json()).toEqual(withoutSecret);
      expect((await (await app.request(`/admin/keys/${a.id}`)).json()).status).toBe('revoked');
      const missing = await app.request('/admin/keys/nobody');
      expect(missing.status).toBe(404);
      expect((await missing.json()).message).toBe('No API key with the id or name "nobody"');
      for (const path of ['/admin/keys/nobody', '/admin/keys/nobody/rotate', '/admin/keys/nobody/revoke']) {
        const res = await app.request(path, path.endsWith('nobody') ? { method: 'PATCH', body: { name: 'x' } } : { method: 'POST' });
        expect({ path, status: res.status }).toEqual({ path, status: 404 });
      }
    });
  });

  describe('PATCH /admin/keys/{id}', () => {
    it('changes the given fields; null clears models, expiry and single limits; takes effect on the next request', async () => {
      const app = await start();
      const key = await (await create(app, { name: 'c', scopes: ['chat'], models: ['mistral'], limits: { requests_per_minute: 50, tokens_per_day: 10 }, expires_at: '2099-01-01' })).json();
      const res = await app.request(`/admin/keys/${key.id}`, {
        method: 'PATCH',
        body: { name: 'carol', scopes: ['chat', 'admin'], models: null, limits: { tokens_per_day: null, concurrent_streams: 2 }, expires_at: null },
      });
      expect(res.status).toBe(200);
      const changed = await res.json();
      expect(changed).toEqual({
        ...key,
        secret: undefined,
        name: 'carol',
        scopes: ['chat', 'admin'],
        models: null,
        limits: { requests_per_minute: 50, concurrent_streams: 2 },
        expires_at: null,
        updated_at: expect.stringMatching(ISO),
      });
      expect(Date.parse(changed.updated_at)).toBeGreaterThanOrEqual(Date.parse(key.created_at));
      // The new admin scope works at once: this process's cache forgot the key.
      expect((await app.request('/admin/keys', { key: key.secret })).status).toBe(200);
      expect(await (await app.request('/me', { key: key.secret })).json()).toMatchObject({ name: 'carol', scopes: ['chat', 'admin'], models: null });

      const other = await (await create(app, { name: 'dave', scopes: ['chat'] })).json();
      const taken = await app.request(`/admin/keys/${other.id}`, { method: 'PATCH', body: { name: 'carol' } });
      expect(taken.status).toBe(409);
      const empty = await app.request('/admin/keys/dave', { method: 'PATCH', body: {} });
      expect(empty.status).toBe(400);
      expect((await empty.json()).message).toBe('Nothing to change: give one or more of name, scopes, models, limits, expires_at');
      for (const body of [{ scopes: ['nope'] }, { limits: { requests_per_minute: -5 } }, { expires_at: '2001-01-01' }, { name: '' }, { prefix: 'vk-x' }]) {
        const bad = await app.request('/admin/keys/dave', { method: 'PATCH', body });
        expect({ body, status: bad.status }).toEqual({ body, status: 400 });
      }
      expect((await app.request('/admin/keys/dave/revoke', { method: 'POST' })).status).toBe(200);
      const revoked = await app.request('/admin/keys/dave', { method: 'PATCH', body: { name: 'dave2' } });
      expect(revoked.status).toBe(409);
      expect((await revoked.json()).message).toMatch(/^The API key "dave" was revoked at .+; create a new one$/);
    });
  });

  describe('POST /admin/keys/{id}/rotate', () => {
    it('gives a new secret; the old one is refused from the next request', async () => {
      const app = await start();
      const key = await (await create(app, { name: 'e', scopes: ['chat'] })).json();
      expect((await app.request('/me', { key: key.secret })).status).toBe(200);
      const res = await app.request('/admin/keys/e/rotate', { method: 'POST' });
      expect(res.status).toBe(200);
      const rotated = await res.json();
      expect(rotated).toMatchObject({ id: key.id, name: 'e', status: 'active', secret: expect.stringMatching(/^vk-/), prefix: rotated.secret.slice(0, 10) });
      expect(rotated.secret).not.toBe(key.secret);
      const old = await app.request('/me', { key: key.secret });
      expect(old.status).toBe(401);
      expect((await old.json()).message).toBe('Invalid API key');
      expect((await app.request('/me', { key: rotated.secret })).status).toBe(200);
      expect((await app.request('/admin/keys/e/revoke', { method: 'POST' })).status).toBe(200);
      expect((await app.request('/admin/keys/e/rotate', { method: 'POST' })).status).toBe(409);
    });
  });

  describe('POST /admin/keys/{id}/revoke', () => {
    it('refuses the key with 401 naming the time; revoking again changes nothing', async () => {
      const app = await start();
      const key = await (await create(app, { name: 'f', scopes: ['chat'] })).json();
      expect((await chat(app, key.secret)).status).toBe(200);
      const res = await app.request(`/admin/keys/${key.id}/revoke`, { method: 'POST' });
      expect(res.status).toBe(200);
      const revoked = await res.json();
      expect(revoked).toMatchObject({ id: key.id, status: 'revoked', revoked_at: expect.stringMatching(ISO) });
      expect(revoked).not.toHaveProperty('secret');
      const refused = await chat(app, key.secret);
      expect(refused.status).toBe(401);
      expect((await refused.json()).error.message).toBe(`This API key was revoked at ${revoked.revoked_at}`);
      const again = await (await app.request(`/admin/keys/${key.id}/revoke`, { method: 'POST' })).json();
      expect(again.revoked_at).toBe(revoked.revoked_at);
    });
  });

  describe('expiry', () => {
    it('refuses an expired key with 401 naming the time, and lists it as expired', async () => {
      const app = await start();
      const expiresAt = new Date(Date.now() + 1500).toISOString();
      const key = await (await create(app, { name: 'g', scopes: ['chat'], expires_at: expiresAt })).json();
      expect((await app.request('/me', { key: key.secret })).status).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, Date.parse(expiresAt) - Date.now() + 50));
      const refused = await app.request('/me', { key: key.secret });
      expect(refused.status).toBe(401);
      expect((await refused.json()).message).toBe(`This API key expired at ${expiresAt}`);
      expect((await (await app.request('/admin/keys/g')).json()).status).toBe('expired');
    });
  });

  describe('GET /me', () => {
    it('answers any valid key, with no scope needed', async () => {
      const app = await start();
      expect(await (await app.request('/me')).json()).toEqual({
        key_id: 'primary',
        name: 'primary',
        kind: 'bootstrap',
        scopes: ['chat', 'research', 'history:own', 'history:all', 'admin'],
        models: null,
        limits: {},
      });
      const scoped = await app.request('/me', { key: CHAT_ONLY });
      expect(await scoped.json()).toMatchObject({ key_id: 'key-1', scopes: ['chat'] });
      const minimal = await (await create(app, { name: 'h', scopes: ['research'] })).json();
      expect((await app.request('/me', { key: minimal.secret })).status).toBe(200);
      expect((await app.request('/me', { key: 'vk-not-a-key-0123456789' })).status).toBe(401);
      expect((await app.request('/me', { key: null })).status).toBe(401);
    });
  });

  describe('audit and secrets', () => {
    it('records every change with the acting key and the target key; no secret in the database, the audit log or the logs', async () => {
      const app = await start({ LOG_LEVEL: 'debug' });
      const admin = await (await create(app, { name: 'ops', scopes: ['admin', 'chat'] })).json();
      const created = await (await app.request('/admin/keys', { method: 'POST', key: admin.secret, body: { name: 'i', scopes: ['chat'] } })).json();
      await app.request('/admin/keys/i', { method: 'PATCH', body: { limits: { tokens_per_minute: 100 } } });
      const rotated = await (await app.request('/admin/keys/i/rotate', { method: 'POST' })).json();
      await chat(app, rotated.secret);
      await app.request('/admin/keys/i/revoke', { method: 'POST' });
      await app.request('/admin/keys/i/revoke', { method: 'POST' });
      await chat(app, rotated.secret);
      await app.request('/admin/keys/nobody/revoke', { method: 'POST' });

      const audit = await (await app.request('/admin/audit?limit=10')).json();
      const target = (id: string, name: string, what: string) => `key ${id} (${name}) ${what}`;
      expect(audit.items.map((entry: { key_id: string; route: string; status: number; outcome: string; detail: string }) => [entry.key_id, entry.route, entry.status, entry.outcome, entry.detail])).toEqual([
        ['primary', 'POST /admin/keys/:id/revoke', 200, 'ok', target(created.id, 'i', 'revoked')],
        ['primary', 'POST /admin/keys/:id/rotate', 200, 'ok', target(created.id, 'i', `rotated (was ${created.prefix}…)`)],
        ['primary', 'PATCH /admin/keys/:id', 200, 'ok', target(created.id, 'i', 'changed limits')],
        [admin.id, 'POST /admin/keys', 201, 'ok', target(created.id, 'i', 'created')],
        ['primary', 'POST /admin/keys', 201, 'ok', target(admin.id, 'ops', 'created')],
      ]);

      const secrets = [admin.secret, created.secret, rotated.secret];
      const stored = await queryDb<{ secret_hash: string }>(app.dbPath, 'SELECT secret_hash FROM api_keys ORDER BY created_at');
      expect(stored.map((row) => row.secret_hash)).toEqual([admin.secret, rotated.secret].map((secret) => keyDigest(secret).toString('hex')));
      // SQLite: the database file and its write-ahead log, as they are on disk while the server runs;
      // PostgreSQL (whose files are the server's): every row of every table, as stored.
      const diskBytes = () => {
        const files = readdirSync(app.dataDir).filter((file) => file.startsWith('vega.db'));
        expect(files).toContain('vega.db');
        return files.map((file) => readFileSync(join(app.dataDir, file)).toString('latin1')).join('');
      };
      const bytes = isPostgresTarget(app.dbPath)
        ? JSON.stringify(await Promise.all(['api_keys', 'audit_log', 'conversations'].map((table) => queryDb(app.dbPath, `SELECT * FROM ${table}`))))
        : diskBytes();
      const logs = app.logs.join('\n');
      expect(logs).toMatch(/admin\/keys/);
      for (const secret of secrets) {
        expect(bytes.includes(secret)).toBe(false);
        expect(bytes.includes(secret.slice(10))).toBe(false);
        expect(logs.includes(secret.slice(10))).toBe(false);
      }
    });
  });
});
