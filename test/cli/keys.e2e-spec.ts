import { ANSI, runVega } from '../support/cli';
import { eventually } from '../support/eventually';
import { startTestApp, tempDir, type TestApp } from '../support/test-app';

jest.setTimeout(180_000);

/**
 * `vega keys` as real processes on the database of a running server: what the CLI creates,
 * changes, rotates and revokes is what the server accepts and refuses.
 */
describe('vega keys', () => {
  let data: ReturnType<typeof tempDir>;
  let app: TestApp;
  const vega = (args: string[]) => runVega(['keys', ...args], { env: { VEGA_DATA_DIR: data.dir } });

  beforeAll(async () => {
    data = tempDir('vega-cli-keys-');
    app = await startTestApp({ VEGA_DATA_DIR: data.dir });
  });
  afterAll(async () => {
    await app.close();
    data.remove();
  });

  it('creates, lists, shows, updates, rotates and revokes keys the running server honours', async () => {
    const created = await vega(['create', 'team', '--scopes', 'chat,history:own', '--limit', 'requests_per_minute=100', '--limit', 'tokens_per_day=5000', '--json']);
    expect(created.code).toBe(0);
    expect(created.stderr).toMatch(/Store this secret now: it is shown only this once/);
    const team = JSON.parse(created.stdout);
    expect(team).toMatchObject({
      id: expect.stringMatching(/^key_[0-9a-f]{16}$/),
      name: 'team',
      status: 'active',
      scopes: ['chat', 'history:own'],
      models: null,
      limits: { requests_per_minute: 100, tokens_per_day: 5000 },
      secret: expect.stringMatching(/^vk-/),
    });
    expect(await (await app.request('/me', { key: team.secret })).json()).toMatchObject({ key_id: team.id, kind: 'managed', scopes: ['chat', 'history:own'] });

    const text = await vega(['create', 'ops', '--scopes', 'admin', '--models', 'mistral,llama3.2', '--expires', '2099-01-01']);
    expect(text.code).toBe(0);
    expect(text.stdout).not.toMatch(ANSI);
    const secret = /^secret\s+(vk-\S+)$/m.exec(text.stdout)?.[1];
    expect(secret).toBeDefined();
    expect(text.stdout).toMatch(/^models\s+mistral, llama3\.2$/m);
    expect(text.stdout).toMatch(/^expires\s+2099-01-01T00:00:00\.000Z$/m);
    expect(text.stderr).toMatch(/Store this secret now/);
    expect((await app.request('/admin/keys', { key: secret! })).status).toBe(200);

    const list = await vega(['list']);
    expect(list).toMatchObject({ code: 0, stderr: '' });
    const lines = list.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID\s+NAME\s+PREFIX\s+STATUS\s+SCOPES\s+MODELS\s+EXPIRES \(UTC\)\s+LAST USED \(UTC\)\s+LIMITS$/);
    expect(lines.slice(1)).toEqual([
      expect.stringMatching(new RegExp(`^${team.id}\\s+team\\s+${escape(team.prefix)}…\\s+active\\s+chat,history:own\\s+\\*\\s+-\\s+\\S.*requests_per_minute=100 tokens_per_day=5000$`)),
      expect.stringMatching(/^key_\w+\s+ops\s+vk-\S+…\s+active\s+admin\s+mistral,llama3\.2\s+2099-01-01 00:00\s+\S.*defaults$/),
    ]);

    const shown = await vega(['show', team.name, '--json']);
    const { secret: teamSecret, ...teamWithoutSecret } = team;
    expect(JSON.parse(shown.stdout)).toEqual({ ...teamWithoutSecret, last_used_at: expect.anything() });

    const updated = await vega(['update', 'team', '--limit', 'requests_per_minute=default', '--models', 'mistral', '--json']);
    expect(updated.code).toBe(0);
    expect(JSON.parse(updated.stdout)).toMatchObject({ limits: { tokens_per_day: 5000 }, models: ['mistral'] });
    const me = await eventually(() => app.request('/me', { key: teamSecret }).then((res) => res.json()), (body) => body.models?.[0] === 'mistral');
    expect(me).toMatchObject({ models: ['mistral'], limits: { tokens_per_day: 5000 } });

    const rotated = JSON.parse((await vega(['rotate', team.id, '--json'])).stdout);
    expect(rotated).toMatchObject({ id: team.id, secret: expect.stringMatching(/^vk-/) });
    const refusedOld = await eventually(() => app.request('/me', { key: teamSecret }), (res) => res.status === 401);
    expect(refusedOld.status).toBe(401);
    expect((await app.request('/me', { key: rotated.secret })).status).toBe(200);

    // Revoked by another process: the server refuses the key within a second of that process ending.
    const revoke = await vega(['revoke', 'team']);
    const revokedAt = Date.now();
    expect(revoke.code).toBe(0);
    expect(revoke.stdout).toMatch(/^status\s+revoked$/m);
    const refused = await eventually(() => app.request('/me', { key: rotated.secret }), (res) => res.status === 401, 5_000);
    const elapsed = Date.now() - revokedAt;
    expect(refused.status).toBe(401);
    expect((await refused.json()).message).toMatch(/^This API key was revoked at \d{4}-\d\d-\d\dT[\d:.]+Z$/);
    expect(elapsed).toBeLessThan(1000);

    expect((await vega(['list', '--json'])).stdout).not.toContain('"team"');
    const all = JSON.parse((await vega(['list', '--all', '--json'])).stdout);
    expect(all.items.map((key: { name: string; status: string }) => [key.name, key.status])).toEqual([
      ['team', 'revoked'],
      ['ops', 'active'],
    ]);

    // Every change is in the server's audit log, made by "cli", naming the key and never a secret.
    const audit = await (await app.request('/admin/audit?limit=20')).json();
    expect(audit.items.map((entry: { key_id: string; route: string }) => [entry.key_id, entry.route])).toEqual([
      ['cli', 'POST /admin/keys/:id/revoke'],
      ['cli', 'POST /admin/keys/:id/rotate'],
      ['cli', 'PATCH /admin/keys/:id'],
      ['cli', 'POST /admin/keys'],
      ['cli', 'POST /admin/keys'],
    ]);
    expect(JSON.stringify(audit)).not.toContain(rotated.secret.slice(3));
  });

  it('refuses a bad command line with exit 2, an unknown or taken key with exit 1', async () => {
    const cases: [string[], number, RegExp][] = [
      [[], 2, /give a command: create, list, show, update, rotate, revoke/],
      [['create', 'x'], 2, /--scopes is required/],
      [['create', 'x', '--scopes', 'chat,root'], 2, /unknown scope "root"/],
      [['create', 'x', '--scopes', 'chat', '--limit', 'fast'], 2, /--limit takes name=value/],
      [['create', 'x', '--scopes', 'chat', '--limit', 'tokens_per_day=lots'], 2, /limits\.tokens_per_day must be a whole number/],
      [['create', 'x', '--scopes', 'chat', '--expires', '2001-01-01'], 2, /expires_at .* is not in the future/],
      [['create', 'primary', '--scopes', 'chat'], 2, /reserved/],
      [['update', 'nobody', '--name', 'y'], 1, /No API key with the id or name "nobody"/],
      [['update', 'ops'], 2, /give something to change/],
      [['show', 'nobody'], 1, /No API key with the id or name "nobody"/],
      [['create', 'ops', '--scopes', 'chat'], 1, /A key named "ops" exists already/],
    ];
    for (const [args, code, message] of cases) {
      const result = await vega(args);
      expect({ args, code: result.code }).toEqual({ args, code });
      expect(result.stderr).toMatch(message);
    }
    const help = await vega(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/create <name>\s+a new key; prints its secret once/);
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&');
}
