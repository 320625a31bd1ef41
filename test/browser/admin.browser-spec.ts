import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { FakeOllama } from '../support/fake-ollama';
import { queryDb } from '../support/sqlite';
import { scopedKeys, startTestApp, TEST_API_KEY, TestApp, type TestResponse } from '../support/test-app';
import { describeWithChromium, SCREENSHOT_DIR, useChromium } from './chromium';
import { waitForCount, waitForText, waitUntil } from './waits';

jest.setTimeout(180_000);

const CHAT_KEY = 'chat-only-key-0123456789abcdef';

interface ChartData {
  labels: string[];
  datasets: { label: string; data: (number | null)[] }[];
}

describeWithChromium('admin panel in Chromium', () => {
  const chromium = useChromium();
  const { consoleErrors, requestedUrls } = chromium;
  const fake = new FakeOllama({ models: ['mistral', 'llama3.2:3b'], reply: () => 'Hello from the fake model.' });
  let t: TestApp | undefined;

  beforeAll(() => fake.start());
  afterAll(() => fake.stop());
  afterEach(async () => {
    await t?.close();
    t = undefined;
    fake.reset();
  });

  async function start(): Promise<TestApp> {
    t = await startTestApp({ OLLAMA_URL: fake.url, CACHE_TTL_SECONDS: '0', RATE_LIMIT_PER_MINUTE: '0' }, { keyStores: [scopedKeys({ [CHAT_KEY]: ['chat', 'history:own'] })] });
    return t;
  }

  async function open(key: string, viewport = { width: 1280, height: 900 }): Promise<Page> {
    const page = await chromium.open(`${t!.url}/`, viewport);
    await page.fill('#api-key', key);
    await page.click('#key-form button[type=submit]');
    return page;
  }

  /** No console error (a CSP violation is one) and no secret in any URL the page asked for. */
  function expectCleanPage(...secrets: string[]): void {
    expect(consoleErrors).toEqual([]);
    for (const secret of [TEST_API_KEY, ...secrets]) expect(requestedUrls.filter((url) => url.includes(secret))).toEqual([]);
  }

  /** What chart.js draws on the canvas `id` (its data, read in the page: the test has no DOM types). */
  const chart = (page: Page, id: string) =>
    page.evaluate<ChartData>(`(() => {
      const found = window.Chart?.getChart(${JSON.stringify(id)});
      return found ? { labels: [...found.data.labels], datasets: found.data.datasets.map((set) => ({ label: set.label, data: [...set.data] })) } : { labels: [], datasets: [] };
    })()`);

  const keyRow = (page: Page, name: string) => page.locator('#keys-table tbody tr').filter({ has: page.locator('th', { hasText: new RegExp(`^${name}$`) }) });

  async function createKey(page: Page, name: string, fill: (page: Page) => Promise<void> = async () => {}): Promise<string> {
    await page.click('#key-new');
    await page.fill('#kf-name', name);
    await fill(page);
    await page.click('#kf-save');
    await waitUntil(async () => page.locator('#secret-box').isVisible(), `the secret of ${name}`);
    expect(await page.locator('#secret-name').textContent()).toBe(name);
    return page.inputValue('#secret-value');
  }

  it('creates a key (secret shown once, copied), sees its use in the charts and exchanges, revokes it, and the API refuses it', async () => {
    await start();
    const page = await open(TEST_API_KEY);
    await chromium.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: t!.url });
    await waitUntil(async () => page.locator('#tab-admin').isVisible(), 'the Admin tab for an admin key');
    await page.click('#tab-admin');
    await waitUntil(async () => page.locator('#keys-empty').isVisible(), 'the empty keys table');

    const secret = await createKey(page, 'alice', async (p) => {
      await p.check('#key-dialog input[value=research]');
      await p.fill('#kf-tokens_per_day', '100000');
    });
    expect(secret).toMatch(/^vk-/);
    expect(await page.locator('#key-dialog').isVisible()).toBe(false);
    await page.click('#secret-copy');
    await waitForText(page.locator('#secret-copied'), /Copied/, 'the copy confirmation');
    expect(await page.evaluate<string>('navigator.clipboard.readText()')).toBe(secret);
    await page.click('#secret-done');
    expect(await page.locator('#secret-box').isVisible()).toBe(false);
    expect(await page.inputValue('#secret-value')).toBe('');

    const row = keyRow(page, 'alice');
    await waitForCount(row, 1, 'the row of alice');
    expect(await row.locator('.badge').textContent()).toBe('active');
    expect(await row.textContent()).toContain('chat, research, history:own');
    expect(await row.textContent()).toContain('100,000 tok/day');
    expect(await row.locator('code').textContent()).toBe(`${secret.slice(0, 10)}…`);
    const keyId = (await row.getAttribute('data-key-id'))!;

    // The key at work, from the API.
    const answer = await t!.request('/v1/chat/completions', { key: secret, body: { model: 'mistral', messages: [{ role: 'user', content: 'Hello from alice' }] } });
    expect(answer.status).toBe(200);
    let tokens = 0;
    await waitUntil(async () => {
      const rows = await queryDb<{ tokens: number }>(t!.dbPath, `SELECT prompt_tokens + completion_tokens AS tokens FROM conversations WHERE key_id = '${keyId}'`);
      tokens = rows[0]?.tokens ?? 0;
      return rows.length === 1;
    }, "alice's stored exchange");
    expect(tokens).toBeGreaterThan(0);

    // Its usage in the charts after a refresh: today's bar of alice's stack, and the model's requests.
    await page.click('#usage-refresh');
    const today = new Date().toISOString().slice(0, 10);
    let tokensChart: ChartData = { labels: [], datasets: [] };
    await waitUntil(async () => {
      tokensChart = await chart(page, 'chart-tokens');
      return tokensChart.datasets.some((set) => set.label === 'alice');
    }, "alice's stack in the tokens chart");
    const alice = tokensChart.datasets.find((set) => set.label === 'alice')!;
    expect(tokensChart.labels.at(-1)).toBe(today);
    expect(alice.data.at(-1)).toBe(tokens);
    expect(tokensChart.labels).toHaveLength(30);
    const models = await chart(page, 'chart-models');
    expect(models.labels).toContain('mistral');
    expect(models.datasets[0].data[models.labels.indexOf('mistral')]).toBeGreaterThanOrEqual(1);
    const latency = await chart(page, 'chart-latency');
    expect(latency.datasets.map((set) => set.label)).toEqual(['p50', 'p95']);
    expect(latency.datasets[0].data.at(-1)).toEqual(expect.any(Number));
    // The same numbers as a table, for screen readers.
    await page.click('#chart-tokens-data >> xpath=.. >> summary');
    await waitForText(page.locator('#chart-tokens-data thead'), /alice/, 'the data table of the tokens chart');
    expect(await page.locator('#chart-tokens-data tbody tr').last().textContent()).toContain(today);
    await waitForText(page.locator('#usage-totals'), new RegExp(`^1 request · ${tokens} tokens · .* · 0 errors · p50 \\d+ ms`), 'the totals');

    await page.screenshot({ path: join(SCREENSHOT_DIR, 'admin-desktop.png') });

    // Its last exchanges.
    await row.locator('button', { hasText: 'Exchanges' }).click();
    expect(await page.inputValue('#exchanges-key')).toBe(keyId);
    await waitForText(page.locator('#exchanges-table tbody tr').first(), /Hello from alice/, "alice's exchange");
    expect(await page.locator('#exchanges-table tbody tr').count()).toBe(1);
    expect(await page.locator('#exchanges-table tbody tr').first().textContent()).toContain('mistral');

    // Revoked from the page: gone from the list, shown with the revoked ones, refused by the API.
    page.once('dialog', (dialog) => void dialog.accept());
    await row.locator('button', { hasText: 'Revoke' }).click();
    await waitForCount(keyRow(page, 'alice'), 0, 'alice gone from the active keys');
    await page.check('#keys-revoked');
    await waitForCount(keyRow(page, 'alice'), 1, 'alice among the revoked keys');
    expect(await keyRow(page, 'alice').locator('.badge').textContent()).toBe('revoked');
    expect(await keyRow(page, 'alice').locator('button', { hasText: 'Revoke' }).count()).toBe(0);
    let refused: TestResponse | undefined;
    await waitUntil(async () => {
      refused = await t!.request('/v1/chat/completions', { key: secret, body: { model: 'mistral', messages: [{ role: 'user', content: 'again' }] } });
      return refused.status === 401;
    }, 'the revoked key refused');
    expect((await refused!.json()).error.message).toMatch(/revoked/);
    expectCleanPage(secret);
  });

  it('edits limits, scopes and models in the dialog, and shows what the server refuses there', async () => {
    await start();
    const page = await open(TEST_API_KEY);
    await waitUntil(async () => page.locator('#tab-admin').isVisible(), 'the Admin tab');
    await page.click('#tab-admin');
    await createKey(page, 'bob');
    await page.click('#secret-done');

    // A missing name and no scope are caught in the page; a taken name by the server (409).
    await page.click('#key-new');
    await page.click('#kf-save');
    await waitForText(page.locator('#key-form-error'), /name/, 'the missing name');
    await page.fill('#kf-name', 'carol');
    for (const box of await page.locator('#key-dialog input[name=scope]').all()) await box.uncheck();
    await page.click('#kf-save');
    await waitForText(page.locator('#key-form-error'), /scope/, 'the missing scope');
    await page.check('#key-dialog input[value=chat]');
    await page.fill('#kf-name', 'bob');
    await page.click('#kf-save');
    await waitForText(page.locator('#key-form-error'), /bob|taken|exists/i, 'the taken name');
    expect(await page.locator('#key-dialog').isVisible()).toBe(true);
    await page.click('#kf-cancel');

    const row = keyRow(page, 'bob');
    await row.locator('button', { hasText: 'Edit' }).click();
    expect(await page.inputValue('#kf-name')).toBe('bob');
    expect(await page.locator('#key-dialog-title').textContent()).toBe('Edit bob');
    await page.fill('#kf-models', 'mistral, llama3.2:3b');
    await page.fill('#kf-requests_per_minute', '30');
    await page.fill('#kf-concurrent_streams', '0');
    await page.check('#key-dialog input[value="history:all"]');
    await page.click('#kf-save');
    await waitForText(keyRow(page, 'bob'), /30 req\/min/, 'the new limit in the table');
    const shown = (await keyRow(page, 'bob').textContent())!;
    expect(shown).toContain('no streams limit');
    expect(shown).toContain('mistral, llama3.2:3b');
    expect(shown).toContain('history:all');
    const keyId = (await keyRow(page, 'bob').getAttribute('data-key-id'))!;
    const stored = await (await t!.request(`/admin/keys/${keyId}`)).json();
    expect(stored).toMatchObject({ models: ['mistral', 'llama3.2:3b'], limits: { requests_per_minute: 30, concurrent_streams: 0 } });

    // Emptied fields go back to the defaults and to every model.
    await keyRow(page, 'bob').locator('button', { hasText: 'Edit' }).click();
    expect(await page.inputValue('#kf-requests_per_minute')).toBe('30');
    await page.fill('#kf-models', '');
    await page.fill('#kf-requests_per_minute', '');
    await page.fill('#kf-concurrent_streams', '');
    await page.click('#kf-save');
    await waitForText(keyRow(page, 'bob'), /defaults/, 'the default limits');
    const cleared = await (await t!.request(`/admin/keys/${keyId}`)).json();
    expect(cleared.models).toBeNull();
    expect(cleared.limits.requests_per_minute ?? null).toBeNull();

    // Rotate: a new secret shown once, the old one refused.
    const before = await page.locator('#keys-table code').first().textContent();
    page.once('dialog', (dialog) => void dialog.accept());
    await keyRow(page, 'bob').locator('button', { hasText: 'Rotate' }).click();
    await waitUntil(async () => page.locator('#secret-box').isVisible(), 'the rotated secret');
    const rotated = await page.inputValue('#secret-value');
    expect(rotated).toMatch(/^vk-/);
    await waitUntil(async () => (await page.locator('#keys-table code').first().textContent()) !== before, 'the new prefix');
    expect((await t!.request('/me', { key: rotated })).status).toBe(200);
    expectCleanPage(rotated);
  });

  it('shows no Admin tab to a key without the admin scope, and falls back to Chat', async () => {
    await start();
    const page = await open(TEST_API_KEY);
    await waitUntil(async () => page.locator('#tab-admin').isVisible(), 'the Admin tab');
    await page.click('#tab-admin');
    // The same browser, another key: the tab and its panel go, the chat comes back.
    await page.fill('#api-key', CHAT_KEY);
    await page.click('#key-form button[type=submit]');
    await waitUntil(async () => !(await page.locator('#tab-admin').isVisible()), 'the Admin tab hidden');
    expect(await page.locator('#panel-admin').isVisible()).toBe(false);
    expect(await page.locator('#panel-chat').isVisible()).toBe(true);
    // After a reload with the chat key the tab stays hidden, and the admin routes refuse this key anyway.
    await page.reload();
    await waitUntil(async () => page.locator('#panel-chat').isVisible(), 'the chat panel');
    expect(await page.locator('#tab-admin').isVisible()).toBe(false);
    expect((await t!.request('/admin/keys', { key: CHAT_KEY })).status).toBe(403);
    // Back to the admin key: the Admin tab, still the last one chosen, shows again.
    await page.fill('#api-key', TEST_API_KEY);
    await page.click('#key-form button[type=submit]');
    await waitUntil(async () => page.locator('#panel-admin').isVisible(), 'the Admin panel again');
    // The arrow keys skip the hidden tab.
    await page.fill('#api-key', CHAT_KEY);
    await page.click('#key-form button[type=submit]');
    await waitUntil(async () => !(await page.locator('#tab-admin').isVisible()), 'the Admin tab hidden again');
    await page.focus('#tab-username');
    await page.keyboard.press('ArrowRight');
    expect(await page.evaluate<string>('document.activeElement?.id')).toBe('tab-chat');
    expectCleanPage(CHAT_KEY);
  });

  it('fits a phone-width screen', async () => {
    await start();
    const page = await open(TEST_API_KEY, { width: 390, height: 844 });
    await waitUntil(async () => page.locator('#tab-admin').isVisible(), 'the Admin tab');
    await page.click('#tab-admin');
    await createKey(page, 'phone-key');
    await page.click('#secret-done');
    await waitForCount(keyRow(page, 'phone-key'), 1, 'the key row');
    await waitUntil(async () => (await chart(page, 'chart-tokens')).labels.length === 30, 'the tokens chart');
    const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
    expect(overflow).toBeLessThanOrEqual(0);
    for (const selector of ['#key-new', '#usage-refresh', '#chart-tokens', '#chart-models', '#exchanges-key']) {
      const box = await page.locator(selector).boundingBox();
      expect({ selector, inside: box !== null && box.x >= 0 && box.x + box.width <= 390 }).toEqual({ selector, inside: true });
    }
    await page.screenshot({ path: join(SCREENSHOT_DIR, 'admin-phone.png') });
    await page.click('#key-new');
    const dialog = await page.locator('#key-dialog').boundingBox();
    expect(dialog!.x).toBeGreaterThanOrEqual(0);
    expect(dialog!.x + dialog!.width).toBeLessThanOrEqual(390);
    await page.screenshot({ path: join(SCREENSHOT_DIR, 'admin-phone-dialog.png') });
    expectCleanPage();
  });
});
