import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { FakeOllama } from '../support/fake-ollama';
import { FixtureServer } from '../support/fixture-server';
import { fixture } from '../support/fixtures';
import { startTestApp, tempDir, TEST_API_KEY, TestApp } from '../support/test-app';
import { describeWithChromium, SCREENSHOT_DIR, useChromium } from './chromium';
import { waitForCount, waitForText, waitUntil } from './waits';

jest.setTimeout(120_000);

const XSS_TITLE = '<img src=x onerror="window.__xss = 1">Breaker <b>notes</b>';

describeWithChromium('research and username panels in Chromium', () => {
  const fake = new FakeOllama({ models: ['mistral'] });
  // The pages the research reads, and the profiles the username probe asks about.
  const pages = new FixtureServer({
    '/circuit-breaker': { body: fixture('pages/circuit-breaker.html') },
    '/retry': { body: fixture('pages/retry.html') },
    '/bulkhead.txt': { headers: { 'content-type': 'text/plain; charset=utf-8' }, body: fixture('pages/bulkhead.txt') },
    '/notes': { body: '<title>x</title><p>Notes on breakers: <img src=x onerror="window.__xss = 2"> half-open probes.</p>' },
    '/gh/alice': { body: '<h1>alice</h1>' },
    '/hn': (url) => ({ body: url.searchParams.get('id') === 'alice' ? '<td>user: alice</td>' : 'No such user.' }),
    '/limited/alice': { status: 429, body: 'slow down' },
    '/adult/alice': { body: 'profile' },
  });
  /** What the fake SearXNG answers: [title, url, snippet]. */
  let results: [string, string, string][] = [];
  const searx = new FixtureServer({
    '/search': () => ({
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: 'q', results: results.map(([title, url, content]) => ({ title, url, content, engine: 'fixture' })) }),
    }),
  });
  const temp = tempDir();
  const sitesFile = join(temp.dir, 'sites.json');
  const chromium = useChromium();
  const { consoleErrors } = chromium;
  let t: TestApp | undefined;

  beforeAll(async () => {
    await Promise.all([fake.start(), pages.start(), searx.start()]);
    const base = pages.origin;
    writeFileSync(
      sitesFile,
      JSON.stringify([
        { name: 'StatusSite', url: `${base}/gh/{}`, detect: 'status' },
        { name: 'AbsentText', url: `${base}/hn?id={}`, detect: 'text_absent', text: 'No such user.' },
        { name: 'Limited', url: `${base}/limited/{}`, detect: 'status' },
        { name: 'Adult', url: `${base}/adult/{}`, detect: 'status', nsfw: true },
      ]),
    );
  });
  afterAll(async () => {
    await Promise.all([fake.stop(), pages.stop(), searx.stop()]);
    temp.remove();
  });
  beforeEach(() => {
    results = [
      ['Circuit Breaker - Martin Fowler', pages.url('/circuit-breaker'), 'You wrap a protected function call in a circuit breaker object.'],
      ['Retry pattern', pages.url('/retry'), 'Handle transient failures by retrying.'],
      [XSS_TITLE, pages.url('/notes'), 'Snippet with <script>window.__xss = 3</script> in it.'],
      ['Gone', pages.url('/gone'), 'This page has moved away.'],
      ['Not a web page', 'javascript:window.__xss=4', 'A result whose address is script.'],
      ['Bulkhead', pages.url('/bulkhead.txt'), 'Isolate elements into pools.'],
    ];
  });
  afterEach(async () => {
    await t?.close();
    t = undefined;
    fake.reset();
  });

  async function start(env: Record<string, string> = {}): Promise<TestApp> {
    // As the research and OSINT e2e tests do: the SSRF guard stays on and allows only the fixture servers.
    t = await startTestApp({
      OLLAMA_URL: fake.url,
      RATE_LIMIT_PER_MINUTE: '0',
      SEARCH_PROVIDER: 'searxng',
      SEARXNG_URL: searx.origin,
      FETCH_ALLOW_HOSTS: `127.0.0.1:${pages.port}`,
      USERNAME_SITES_FILE: sitesFile,
      FETCH_TIMEOUT_SEC: '5',
      ...env,
    });
    return t;
  }

  async function open(viewport = { width: 1280, height: 760 }): Promise<Page> {
    const page = await chromium.open(`${t!.url}/`, viewport);
    await page.fill('#api-key', TEST_API_KEY);
    await page.click('#key-form button[type=submit]');
    return page;
  }

  async function research(page: Page, query: string): Promise<void> {
    await page.click('#tab-research');
    await page.fill('#research-q', query);
    await page.press('#research-q', 'Enter');
  }

  /** Whether the element is scrolled into the visible part of its panel. */
  const inView = (page: Page, selector: string, panel: string) =>
    page.evaluate<boolean>(
      `(() => {
        const box = document.querySelector(${JSON.stringify(selector)}).getBoundingClientRect();
        const view = document.querySelector(${JSON.stringify(panel)}).getBoundingClientRect();
        return box.top >= view.top && box.bottom <= view.bottom;
      })()`,
    );

  it('summarizes with clickable [n] citations that highlight and scroll to their source', async () => {
    await start();
    const filler = Array.from({ length: 14 }, (_, i) => `Paragraph ${i + 1} keeps the sources below the fold.`).join('\n\n');
    fake.enqueue({
      kind: 'reply',
      text: `A breaker **trips** after repeated failures [1]; combine it with retries [2].\n\nSee also [3, 5] and [9].\n\n${filler}\n\nNot a citation in code: \`[2]\`.`,
    });
    const page = await open();
    // Hold the search answer back a little so the spinner can be seen.
    searx.route('/search', () => ({
      delayMs: 600,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: 'q', results: results.map(([title, url, content]) => ({ title, url, content, engine: 'fixture' })) }),
    }));
    await research(page, 'circuit breaker');
    await waitUntil(() => page.locator('#research-status .spinner').isVisible(), 'the spinner');
    expect(await page.locator('#research-go').isDisabled()).toBe(true);
    await waitForText(page.locator('#research-summary'), /trips after repeated failures/, 'the summary');
    expect(await page.locator('#research-status').isVisible()).toBe(false);
    expect(await page.locator('#research-summary strong').textContent()).toBe('trips');

    // [1], [2], [3, 5] become four citation links; [9] (no such source) and the code span stay text.
    const cites = page.locator('#research-summary a.cite');
    expect(await cites.allTextContents()).toEqual(['[1]', '[2]', '[3]', '[5]']);
    expect(await page.locator('#research-summary').textContent()).toContain('[9]');
    expect(await page.locator('#research-summary code').textContent()).toBe('[2]');

    const sources = page.locator('#research-sources > li');
    // The research reads max_results (5 by default) of the 6 search results.
    await waitForCount(sources, 5, 'sources');
    expect(await sources.locator('.source-n').allTextContents()).toEqual(['[1]', '[2]', '[3]', '[4]', '[5]']);
    const first = sources.nth(0).locator('a');
    expect(await first.textContent()).toBe('Circuit Breaker - Martin Fowler');
    expect(await first.getAttribute('href')).toBe(pages.url('/circuit-breaker'));
    expect(await first.getAttribute('target')).toBe('_blank');
    expect(await first.getAttribute('rel')).toBe('noopener noreferrer');
    // Failed sources say why; the javascript: address is shown as text, never as a link.
    expect(await sources.nth(3).locator('.source-error').textContent()).toContain('HTTP 404');
    expect(await sources.nth(4).locator('a').count()).toBe(0);
    expect(await sources.nth(4).locator('.not-a-link').textContent()).toBe('Not a web page');
    expect(await sources.nth(4).locator('.source-error').textContent()).toMatch(/Could not be read/);
    expect(await page.locator('#research-sources .failed').count()).toBe(2);

    // Clicking [2] highlights source 2 and scrolls it into view.
    expect(await inView(page, '#research-source-2', '#panel-research')).toBe(false);
    await cites.nth(1).click();
    await waitUntil(async () => (await sources.nth(1).getAttribute('class'))!.includes('highlight'), 'source 2 to be highlighted');
    await waitUntil(() => inView(page, '#research-source-2', '#panel-research'), 'source 2 to scroll into view');
    expect(await page.locator('#research-sources .highlight').count()).toBe(1);
    await page.screenshot({ path: join(SCREENSHOT_DIR, 'research-desktop.png') });
    // [5] moves the highlight.
    await cites.nth(3).click();
    await waitUntil(async () => (await sources.nth(4).getAttribute('class'))!.includes('highlight'), 'source 5 to be highlighted');
    expect(await page.locator('#research-sources .highlight').count()).toBe(1);
    expect(consoleErrors).toEqual([]);
  });

  it('keeps HTML from a page title, a snippet or the summary inert', async () => {
    await start();
    fake.enqueue({
      kind: 'reply',
      text: 'Summary <img src=x onerror="window.__xss = 5"> and <script>window.__xss = 6</script> [3] [link](javascript:window.__xss=7)',
    });
    const page = await open();
    await research(page, 'breaker notes');
    await waitForText(page.locator('#research-summary'), /Summary/, 'the summary');
    expect(await page.locator('#research-summary').textContent()).toBe(
      'Summary <img src=x onerror="window.__xss = 5"> and <script>window.__xss = 6</script> [3] [link](javascript:window.__xss=7)',
    );
    const third = page.locator('#research-source-3');
    expect(await third.locator('a').first().textContent()).toBe(XSS_TITLE);
    expect(await third.locator('.source-snippet').textContent()).toBe('Snippet with <script>window.__xss = 3</script> in it.');
    await page.locator('#research-summary a.cite').click();
    await waitUntil(async () => (await third.getAttribute('class'))!.includes('highlight'), 'source 3 to be highlighted');
    expect(await page.locator('#panel-research img, #panel-research script, #panel-research b, #panel-research [onerror]').count()).toBe(0);
    const hrefs = await page.locator('#panel-research a:not(.cite)').evaluateAll((links) => links.map((link) => link.getAttribute('href') ?? ''));
    expect(hrefs.length).toBeGreaterThan(0);
    expect(hrefs.filter((href) => !href.startsWith('http://127.0.0.1:'))).toEqual([]);
    expect(await page.evaluate('typeof window.__xss')).toBe('undefined');
    expect(consoleErrors).toEqual([]);
  });

  it('answers from ranked passages with the RAG toggle and lists the pages that failed', async () => {
    await start();
    fake.enqueue({ kind: 'reply', text: 'It lets a trial call through [1].' });
    const page = await open();
    await page.click('#tab-research');
    await page.check('#research-rag');
    await research(page, 'half-open trial call');
    await waitForText(page.locator('#research-summary'), /trial call through/, 'the answer');
    expect(await page.locator('#research-meta').textContent()).toContain('bm25');
    expect(await page.locator('#research-sources > li').count()).toBeGreaterThan(0);
    expect(await page.locator('#research-source-1 a').first().getAttribute('href')).toBe(pages.url('/circuit-breaker'));
    const failed = page.locator('#research-failed > li');
    await waitForCount(failed, 2, 'failed pages');
    expect(await failed.nth(0).textContent()).toContain('HTTP 404');
    expect(await failed.nth(1).locator('a').count()).toBe(0);
    expect(fake.chatRequests()).toHaveLength(1);
    // The toggle survives a reload, as does the open panel.
    await page.reload();
    expect(await page.locator('#research-rag').isChecked()).toBe(true);
    expect(await page.locator('#panel-research').isVisible()).toBe(true);
    expect(consoleErrors).toEqual([]);
  });

  it('explains a wrong key and a failing backend in the panel', async () => {
    await start({ LLM_MAX_RETRIES: '0' });
    fake.setDefaultFault({ kind: 'status', status: 500 });
    const page = await open();
    await research(page, 'circuit breaker');
    await waitForText(page.locator('#research-error'), /The search provider or the model backend failed/, 'the 502 message');
    expect(await page.locator('#research-go').isEnabled()).toBe(true);

    await page.fill('#api-key', 'wrong-key-0123456789abcdef');
    await page.click('#key-form button[type=submit]');
    await page.press('#research-q', 'Enter');
    await waitForText(page.locator('#research-error'), /check your API key/, 'the wrong-key message');
    await waitForText(page.locator('#notice-text'), /check your API key/, 'the page notice');
    expect(consoleErrors).toEqual([]);
  });

  it('looks up a username: found, not found and unknown rows, adult sites on request, 400 explained', async () => {
    await start();
    const page = await open();
    await page.click('#tab-username');
    await page.fill('#username-q', 'alice');
    await page.press('#username-q', 'Enter');
    const rows = page.locator('#username-table tbody tr');
    await waitForCount(rows, 3, 'result rows');
    const table = await rows.evaluateAll((trs) => trs.map((tr) => [...tr.children].slice(0, 3).map((cell) => cell.textContent)));
    const base = pages.origin;
    expect(table).toEqual([
      ['StatusSite', 'yes', `${base}/gh/alice`],
      ['AbsentText', 'yes', `${base}/hn?id=alice`],
      ['Limited', 'unknown', `${base}/limited/alice`],
    ]);
    const link = rows.nth(0).locator('a');
    expect(await link.getAttribute('href')).toBe(`${base}/gh/alice`);
    expect(await link.getAttribute('rel')).toBe('noopener noreferrer');
    expect(await link.getAttribute('target')).toBe('_blank');
    expect(await page.locator('#username-summary').textContent()).toBe('"alice": found on 2, not found on 0, unknown on 1 of 3 sites.');

    await page.fill('#username-q', 'bob');
    await page.check('#username-nsfw');
    await page.click('#username-go');
    await waitForText(rows.first(), /StatusSite\s*no/, 'the rows for bob');
    await waitForCount(rows, 4, 'rows with the adult site');
    expect(await rows.locator('.verdict').allTextContents()).toEqual(['no', 'no', 'no', 'no']);
    expect(await rows.nth(3).textContent()).toMatch(/Adult\s*adult/);
    await page.screenshot({ path: join(SCREENSHOT_DIR, 'username-desktop.png') });

    await page.fill('#username-q', 'a/b');
    await page.click('#username-go');
    await waitForText(page.locator('#username-error'), /username may only contain letters, digits/, 'the 400 message');
    expect(consoleErrors).toEqual([]);
  });

  it('switches panels on a phone-width screen without overflow, and saves screenshots', async () => {
    await start();
    fake.enqueue({ kind: 'reply', text: 'Breakers fail fast once open [1] and retry later [2].' });
    const page = await open({ width: 390, height: 844 });
    await research(page, 'circuit breaker');
    await waitForText(page.locator('#research-summary'), /fail fast/, 'the summary');
    expect(await page.locator('#panel-chat').isVisible()).toBe(false);
    expect(await page.locator('#history-toggle').isVisible()).toBe(false);
    const overflow = () => page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
    expect(await overflow()).toBeLessThanOrEqual(0);
    await page.locator('#research-summary a.cite').nth(1).click();
    await waitUntil(() => inView(page, '#research-source-2', '#panel-research'), 'source 2 in view on the phone');
    await page.screenshot({ path: join(SCREENSHOT_DIR, 'research-phone.png') });

    await page.click('#tab-username');
    await page.fill('#username-q', 'alice');
    await page.click('#username-go');
    await waitForCount(page.locator('#username-table tbody tr'), 3, 'result rows');
    expect(await overflow()).toBeLessThanOrEqual(0);
    for (const selector of ['#username-q', '#username-go', '#username-nsfw', '#tab-chat', '#tab-research', '#tab-username', '#tab-admin']) {
      const box = await page.locator(selector).boundingBox();
      expect({ selector, inside: box !== null && box.x >= 0 && box.x + box.width <= 390 }).toEqual({ selector, inside: true });
    }
    await page.screenshot({ path: join(SCREENSHOT_DIR, 'username-phone.png') });

    // Back to the chat, with the keyboard (past Admin: the test key is an admin's): the history drawer's button returns.
    await page.focus('#tab-username');
    await page.keyboard.press('ArrowRight');
    expect(await page.evaluate<string>('document.activeElement.id')).toBe('tab-admin');
    await page.keyboard.press('ArrowRight');
    expect(await page.locator('#panel-chat').isVisible()).toBe(true);
    expect(await page.locator('#history-toggle').isVisible()).toBe(true);
    expect(await page.evaluate<string>('document.activeElement.id')).toBe('tab-chat');
    expect(consoleErrors).toEqual([]);
  });
});
