import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FixtureServer } from '../support/fixture-server';
import { tempDir, TestApp, useAppWithFakeOllama } from '../support/test-app';
import { loadUsernameSites } from '../../src/modules/osint/username-sites';

describe('POST /osint/username', () => {
  const env = useAppWithFakeOllama();
  const profiles = new FixtureServer({
    // Profiles answer after 150 ms, so the concurrency of the probe shows at the server.
    '/gh/alice': { delayMs: 150, body: '<h1>alice</h1>' },
    '/hn': (url) => ({ delayMs: 150, body: url.searchParams.get('id') === 'alice' ? '<td>user: alice</td>' : 'No such user.' }),
    '/tg/alice': { delayMs: 150, body: '<div class="tgme_page_title">Alice</div>' },
    '/tg/bob': { body: '<div class="tgme_page">If you have Telegram, you can contact</div>' },
    '/redir/alice': { delayMs: 150, status: 302, headers: { location: '/login' } },
    '/limited/alice': { delayMs: 150, status: 429, body: 'slow down' },
    '/slow/alice': { delayMs: 3_000, body: 'late' },
    '/adult/alice': { body: 'profile' },
  });
  const temp = tempDir();
  const sitesFile = join(temp.dir, 'sites.json');
  let t: TestApp;

  beforeAll(async () => {
    await profiles.start();
    const base = profiles.origin;
    writeFileSync(
      sitesFile,
      JSON.stringify([
        { name: 'StatusSite', url: `${base}/gh/{}`, detect: 'status' },
        { name: 'AbsentText', url: `${base}/hn?id={}`, detect: 'text_absent', text: 'No such user.' },
        { name: 'PresentText', url: `${base}/tg/{}`, detect: 'text_present', text: 'tgme_page_title' },
        { name: 'Redirector', url: `${base}/redir/{}`, detect: 'status' },
        { name: 'Limited', url: `${base}/limited/{}`, detect: 'status' },
        { name: 'Slow', url: `${base}/slow/{}`, detect: 'status' },
        { name: 'Picky', url: `${base}/picky/{}`, detect: 'status', pattern: '^[a-z]{10,}$' },
        { name: 'Adult', url: `${base}/adult/{}`, detect: 'status', nsfw: true },
      ]),
    );
  });
  afterAll(async () => {
    await profiles.stop();
    temp.remove();
  });
  beforeEach(async () => {
    profiles.requests.length = 0;
    profiles.maxInFlight = 0;
    t = await env.start({
      RATE_LIMIT_PER_MINUTE: '0',
      USERNAME_SITES_FILE: sitesFile,
      FETCH_ALLOW_HOSTS: `127.0.0.1:${profiles.port}`,
      FETCH_TIMEOUT_SEC: '1',
    });
  });

  const byName = (items: { site: string }[]) => Object.fromEntries(items.map((item) => [item.site, item]));

  it('applies each site\'s rule, never takes a redirect as proof, and skips adult sites by default', async () => {
    const res = await t.request('/osint/username', { body: { username: 'alice' } });
    expect(res.status).toBe(200);
    const { items } = await res.json();
    expect(items.map((item: { site: string }) => item.site)).toEqual(['StatusSite', 'AbsentText', 'PresentText', 'Redirector', 'Limited', 'Slow', 'Picky']);
    const hits = byName(items);
    const base = profiles.origin;
    expect(hits.StatusSite).toEqual({ site: 'StatusSite', url: `${base}/gh/alice`, exists: true, status: 200, note: 'HTTP 200', nsfw: false });
    expect(hits.AbsentText).toMatchObject({ exists: true, status: 200, note: 'page lacks "No such user."' });
    expect(hits.PresentText).toMatchObject({ exists: true, status: 200, note: 'page contains "tgme_page_title"' });
    expect(hits.Redirector).toMatchObject({ exists: null, status: 302, note: 'redirected to /login: a redirect is not taken as proof either way' });
    expect(hits.Limited).toMatchObject({ exists: null, status: 429, note: 'HTTP 429: inconclusive' });
    expect(hits.Slow).toMatchObject({ exists: null, status: null, note: `${base}/slow/alice did not answer within 1 s` });
    expect(hits.Picky).toMatchObject({ exists: false, status: null, note: 'not a valid username on this site' });
    // The redirect was not followed, and the picky site was never asked.
    expect(profiles.requests.map((r) => r.path)).not.toContain('/login');
    expect(profiles.requests.map((r) => r.path)).not.toContain('/picky/alice');
    // All sites were probed at once (7 sites, 16 at a time).
    expect(profiles.maxInFlight).toBeGreaterThanOrEqual(6);
  });

  it('reports missing profiles as not existing', async () => {
    const res = await t.request('/osint/username', { body: { username: 'bob', sites: ['statussite', 'AbsentText', 'PresentText'] } });
    const hits = byName((await res.json()).items);
    expect(hits.StatusSite).toMatchObject({ exists: false, status: 404, note: 'HTTP 404' });
    expect(hits.AbsentText).toMatchObject({ exists: false, status: 200, note: 'page contains "No such user."' });
    expect(hits.PresentText).toMatchObject({ exists: false, status: 200, note: 'page lacks "tgme_page_title"' });
  });

  it('includes adult sites with include_nsfw and filters by sites', async () => {
    const res = await t.request('/osint/username', { body: { username: 'alice', include_nsfw: true, sites: ['Adult', 'StatusSite'] } });
    const { items } = await res.json();
    expect(items.map((item: { site: string }) => item.site)).toEqual(['Adult', 'StatusSite']);
    expect(items[0]).toMatchObject({ exists: true, nsfw: true });
    const withoutNsfw = await t.request('/osint/username', { body: { username: 'alice', sites: ['Adult'] } });
    expect((await withoutNsfw.json()).items).toEqual([]);
  });

  it.each([
    ['a missing username', {}, 'username is required'],
    ['a username with a slash', { username: 'a/b' }, 'username may only contain letters, digits, ".", "_" and "-"'],
    ['a username over 64 characters', { username: 'a'.repeat(65) }, 'username must be shorter than or equal to 64 characters'],
    ['include_nsfw that is not a boolean', { username: 'a', include_nsfw: 'yes' }, 'include_nsfw must be a boolean value'],
    ['sites that is not a list', { username: 'a', sites: 'GitHub' }, 'sites must be an array'],
    ['an empty sites list', { username: 'a', sites: [] }, 'sites must contain at least 1 elements'],
    ['more than 200 sites', { username: 'a', sites: Array(201).fill('x') }, 'sites must contain no more than 200 elements'],
    ['an unknown site', { username: 'a', sites: ['StatusSite', 'Nowhere'] }, 'sites: unknown site "Nowhere"; known sites: StatusSite, AbsentText'],
  ])('answers 400 for %s', async (_case, body, message) => {
    const res = await t.request('/osint/username', { body });
    expect(res.status).toBe(400);
    expect((await res.json()).message).toContain(message);
    expect(profiles.requests).toHaveLength(0);
  });
});

describe('the username site list', () => {
  it('bundles a valid list with explicit rules', () => {
    const sites = loadUsernameSites();
    expect(sites.length).toBeGreaterThanOrEqual(30);
    expect(sites.every((site) => site.url.startsWith('https://'))).toBe(true);
    expect(sites.some((site) => site.nsfw)).toBe(true);
  });

  it('refuses a file with a rule that lacks its text', () => {
    const temp = tempDir();
    const file = join(temp.dir, 'bad.json');
    writeFileSync(file, JSON.stringify([{ name: 'X', url: 'https://x.test/{}', detect: 'text_present' }]));
    try {
      expect(() => loadUsernameSites(file)).toThrow('text_present and text_absent rules need "text"');
    } finally {
      temp.remove();
    }
  });
});
