import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { FakeOllama } from '../support/fake-ollama';
import { seedConversations } from '../support/seed';
import { queryDb } from '../support/sqlite';
import { startTestApp, TEST_API_KEY, TestApp } from '../support/test-app';
import { describeWithChromium, SCREENSHOT_DIR, useChromium } from './chromium';
import { WAIT_MS, waitForCount, waitForText } from './waits';

jest.setTimeout(120_000);

interface Row {
  id: number;
  prompt: string;
  response: string;
  status: string;
  rating: number | null;
  session_id: string | null;
}

/** Polls the database until `check` accepts the rows (the app writes in the background). */
async function waitForRows(t: TestApp, sql: string, check: (rows: Row[]) => boolean, what: string): Promise<Row[]> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const rows = await queryDb<Row>(t.dbPath, sql);
    if (check(rows)) return rows;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; rows: ${JSON.stringify(rows)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describeWithChromium('web UI in Chromium', () => {
  const chromium = useChromium();
  const { consoleErrors, requestedUrls } = chromium;
  let nextReply: string | undefined;
  const fake = new FakeOllama({ models: ['mistral', 'llama3.2:3b'], reply: () => nextReply ?? 'Hello from the fake model.' });
  let t: TestApp | undefined;

  beforeAll(() => fake.start());
  afterAll(() => fake.stop());
  afterEach(async () => {
    await t?.close();
    t = undefined;
    fake.reset();
    nextReply = undefined;
  });

  async function start(env: Record<string, string> = {}): Promise<TestApp> {
    t = await startTestApp({ OLLAMA_URL: fake.url, CACHE_TTL_SECONDS: '0', ...env });
    return t;
  }

  const open = (viewport = { width: 1280, height: 860 }): Promise<Page> => chromium.open(`${t!.url}/`, viewport);

  async function enterKey(page: Page, key = TEST_API_KEY): Promise<void> {
    await page.fill('#api-key', key);
    await page.click('#key-form button[type=submit]');
  }

  async function ask(page: Page, prompt: string): Promise<void> {
    await page.fill('#prompt', prompt);
    await page.press('#prompt', 'Enter');
  }

  const lastAnswer = (page: Page) => page.locator('#messages li.assistant').last();

  /** The page never logged an error (a CSP violation would be one) and the key never went into a URL. */
  function expectCleanPage(): void {
    expect(consoleErrors).toEqual([]);
    expect(requestedUrls.filter((url) => url.includes(TEST_API_KEY))).toEqual([]);
  }

  it('streams tokens as they arrive, stops on request, and stores the partial answer as aborted', async () => {
    await start();
    const words = Array.from({ length: 60 }, (_, i) => `word${i + 1}`);
    nextReply = `Streaming ${words.join(' ')}`;
    fake.enqueue({ kind: 'slow', delayMs: 300 });
    const page = await open();
    await enterKey(page);
    await ask(page, 'Count slowly for me');

    const body = lastAnswer(page).locator('.body');
    const early = await waitForText(body, /word2\b/, 'the first tokens');
    expect(early).not.toContain('word60');
    const later = await waitForText(body, /word4\b/, 'more tokens');
    expect(later.length).toBeGreaterThan(early.length);
    await page.click('#stop');
    await waitForText(lastAnswer(page).locator('.status'), /stopped/, 'the stopped status');
    await fake.waitForAbort(0, WAIT_MS);

    const [row] = await waitForRows(t!, 'SELECT * FROM conversations', (rows) => rows.length === 1, 'the aborted row');
    expect(row.status).toBe('aborted');
    expect(row.prompt).toBe('Count slowly for me');
    expect(row.response).toMatch(/^Streaming word1 word2 word3 word4/);
    expect(row.response).not.toContain('word60');
    expect(await page.locator('#send').isEnabled()).toBe(true);

    // Without a reload: the history panel lists the aborted row, and the stopped bubble gets its id and a rating control.
    const listed = page.locator(`#history-list li[data-conversation-id="${row.id}"]`);
    await waitForText(listed.locator('.badge'), /^aborted$/, 'the aborted row in the history panel');
    await waitForText(lastAnswer(page).locator('.status'), new RegExp(`stopped.*#${row.id}$`), 'the stopped answer with its id');
    expect(await lastAnswer(page).getAttribute('data-conversation-id')).toBe(String(row.id));
    await lastAnswer(page).locator('.rating button[aria-label="Rate 2 of 5"]').click();
    await waitForRows(t!, 'SELECT * FROM conversations', (rows) => rows[0]?.rating === 2, 'the rating of the stopped answer');
    await waitForCount(lastAnswer(page).locator('.rating .star.on'), 2, 'lit stars');

    // After a reload the key, the session and the exchange are still there.
    await page.reload();
    const item = page.locator(`#history-list li[data-conversation-id="${row.id}"]`);
    await waitForText(item, /Count slowly for me/, 'the exchange in the history panel');
    expect(await item.locator('.badge').textContent()).toBe('aborted');
    await waitForText(page.locator('#messages li.user'), /Count slowly for me/, 'the restored session');
    expect(await page.locator('#session-id').textContent()).toBe(row.session_id);
    expectCleanPage();
  });

  it('renders a whole answer as Markdown, rates it, and finds it again by search after a reload', async () => {
    await start();
    nextReply = 'Here is **bold**, `code` and a [link](https://example.org/docs).\n\n- first point\n- second point';
    const page = await open();
    await enterKey(page);
    await waitForText(page.locator('#model option:checked'), /default \(mistral\)/, 'the model list');
    expect(await page.locator('#model option').allTextContents()).toEqual(['default (mistral)', expect.stringMatching(/^llama3\.2:3b/), expect.stringMatching(/^mistral/)]);
    await page.selectOption('#model', 'llama3.2:3b');
    await ask(page, 'Tell me about pelicans');
    const answer = lastAnswer(page);
    await waitForText(answer.locator('.status'), /#\d+/, 'the finished answer');
    expect(await answer.locator('.body strong').textContent()).toBe('bold');
    expect(await answer.locator('.body code').textContent()).toBe('code');
    expect(await answer.locator('.body li').allTextContents()).toEqual(['first point', 'second point']);
    const link = answer.locator('.body a');
    expect(await link.getAttribute('href')).toBe('https://example.org/docs');
    expect(await link.getAttribute('rel')).toContain('noopener');
    expect(fake.chatRequests()[0].body.model).toBe('llama3.2:3b');

    await answer.locator('.rating button[aria-label="Rate 4 of 5"]').click();
    const [row] = await waitForRows(t!, 'SELECT * FROM conversations', (rows) => rows[0]?.rating === 4, 'the rating');
    expect(row.status).toBe('ok');
    await waitForCount(answer.locator('.rating .star.on'), 4, 'lit stars');

    await page.reload();
    await page.fill('#history-q', 'pelicans');
    await page.click('#history-search button');
    const hit = page.locator(`#history-list li[data-conversation-id="${row.id}"]`);
    await waitForText(hit.locator('mark'), /pelicans/i, 'the highlighted search hit');
    await hit.locator('.history-head').click();
    expect(await hit.locator('.history-details .rating .star.on').count()).toBe(4);
    expect(await hit.locator('.history-details strong').textContent()).toBe('bold');
    expectCleanPage();
  });

  it('pages through the history and searches it', async () => {
    await start();
    await seedConversations(
      t!.dbPath,
      Array.from({ length: 25 }, (_, i) => ({ prompt: `seeded question ${i + 1}`, response: i % 5 === 0 ? 'about apples' : 'about pears' })),
    );
    const page = await open();
    await enterKey(page);
    const items = page.locator('#history-list > li');
    await waitForText(items.first(), /seeded question 25/, 'the newest row first');
    expect(await items.count()).toBe(20);
    await page.click('#history-more');
    await waitForText(items.last(), /seeded question 1(?!\d)/, 'the second page');
    expect(await items.count()).toBe(25);
    expect(await page.locator('#history-more').isHidden()).toBe(true);

    await page.fill('#history-q', 'apples');
    await page.press('#history-q', 'Enter');
    await waitForText(page.locator('#history-list mark').first(), /apples/, 'the search results');
    expect(await items.count()).toBe(5);
    expectCleanPage();
  });

  it('keeps HTML in answers inert: an <img onerror> and a <script> show as text and never run', async () => {
    await start();
    const page = await open();
    await enterKey(page);
    const attacks = [
      '<img src=x onerror="window.__xss = 1">',
      '<script>window.__xss = 2</script>',
      '[click me](javascript:window.__xss=3) and <a href="javascript:window.__xss=4">there</a>',
      '```html\n<svg onload="window.__xss=5"></svg>\n```',
    ];
    for (const [i, attack] of attacks.entries()) {
      nextReply = attack;
      await ask(page, `attack ${i}`);
      await waitForText(lastAnswer(page).locator('.status'), /#\d+/, `answer ${i}`);
    }
    const bodies = page.locator('#messages li.assistant .body');
    expect(await bodies.allTextContents()).toEqual([
      '<img src=x onerror="window.__xss = 1">',
      '<script>window.__xss = 2</script>',
      '[click me](javascript:window.__xss=3) and <a href="javascript:window.__xss=4">there</a>',
      '<svg onload="window.__xss=5"></svg>',
    ]);
    expect(await page.locator('#messages img, #messages script, #messages svg, #messages a, #messages [onerror]').count()).toBe(0);
    // Click what looks like a link, then look for the flag every payload would set.
    await bodies.nth(2).click();
    await page.click('#new-session');
    await page.reload();
    await waitForText(page.locator('#history-list > li').first(), /attack 3/, 'the history');
    for (const head of await page.locator('#history-list .history-head').all()) await head.click();
    expect(await page.locator('#history img, #history script, #history svg, #history a').count()).toBe(0);
    expect(await page.evaluate('typeof window.__xss')).toBe('undefined');
    expectCleanPage();
  });

  it('asks for the key on first load as a neutral prompt, not in the error style', async () => {
    await start();
    const page = await open();
    const notice = page.locator('#notice');
    await waitForText(page.locator('#notice-text'), /Enter your API key to start/, 'the first-load prompt');
    expect(await notice.getAttribute('class')).not.toMatch(/\berror\b/);
    expect(await notice.getAttribute('role')).toBe('status');
    // Strings: the tests compile without the DOM's types.
    const colour = () => page.evaluate(`getComputedStyle(document.getElementById('notice')).color`) as Promise<string>;
    const prompt = await colour();

    // An actual failure, for comparison, is in the error style.
    await enterKey(page, 'wrong-key-0123456789abcdef');
    await waitForText(page.locator('#notice-text'), /check your API key/, 'the wrong-key message');
    expect(await notice.getAttribute('class')).toMatch(/\berror\b/);
    expect(await notice.getAttribute('role')).toBe('alert');
    expect(await colour()).not.toBe(prompt);
    expectCleanPage();
  });

  it('shows the whole history search placeholder, on a desktop and on a phone', async () => {
    await start();
    const page = await open();
    await enterKey(page);
    /** How much wider the placeholder is than the input's text box, in its own font (<= 0: it fits). */
    const overflow = () =>
      page.evaluate(`(() => {
        const input = document.getElementById('history-q');
        const style = getComputedStyle(input);
        const context = document.createElement('canvas').getContext('2d');
        context.font = style.font;
        const box = input.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
        const measured = Math.ceil(context.measureText(input.placeholder).width - box);
        // The same text typed in, where Chromium's own layout (the clear button included) decides whether it scrolls.
        input.value = input.placeholder;
        const scrolled = input.scrollWidth - input.clientWidth;
        input.value = '';
        return { placeholder: input.placeholder, excess: Math.max(measured, scrolled) };
      })()`) as Promise<{ placeholder: string; excess: number }>;
    for (const viewport of [
      { width: 1280, height: 860 },
      { width: 800, height: 860 },
      { width: 390, height: 844 },
      { width: 320, height: 640 },
    ]) {
      await page.setViewportSize(viewport);
      if (viewport.width <= 760 && !(await page.locator('#history').isVisible())) await page.click('#history-toggle');
      const { placeholder, excess } = await overflow();
      expect(placeholder.length).toBeGreaterThan(0);
      expect({ viewport: viewport.width, placeholder, pixelsCut: Math.max(0, excess) }).toEqual({ viewport: viewport.width, placeholder, pixelsCut: 0 });
    }
    expectCleanPage();
  });

  it('explains a wrong key, a rate limit and a backend that is down in plain words', async () => {
    // The key's budget covers every route: entering it spends 4 (/models, /session, /history, /me), an
    // answer 2 (the chat and the history refresh after it), so the second question is the seventh request.
    await start({ RATE_LIMIT_PER_MINUTE: '6' });
    const page = await open();
    await enterKey(page, 'wrong-key-0123456789abcdef');
    await waitForText(page.locator('#notice-text'), /check your API key/, 'the wrong-key message');

    await enterKey(page);
    await ask(page, 'first');
    await waitForText(lastAnswer(page).locator('.status'), /#\d+/, 'the first answer');
    await waitForText(page.locator('#history-list > li').first(), /first/, 'the first exchange in the history');
    await ask(page, 'second');
    const limited = await waitForText(page.locator('#notice-text'), /Slow down/, 'the rate-limit message');
    expect(limited).toMatch(/retry in \d+ s/);
    expect(await lastAnswer(page).locator('.status').textContent()).toMatch(/Slow down: too many requests, retry in \d+ s/);
    await chromium.context.close();
    await t!.close();

    // A backend nobody listens on: the model list and the chat both say it is down.
    const stopped = new FakeOllama();
    const deadUrl = await stopped.start();
    await stopped.stop();
    await start({ OLLAMA_URL: deadUrl, LLM_MAX_RETRIES: '0' });
    const second = await open();
    await enterKey(second);
    await waitForText(second.locator('#notice-text'), /model backend is down/, 'the backend-down message (models)');
    await ask(second, 'anyone there?');
    await waitForText(lastAnswer(second).locator('.status'), /model backend is down/, 'the backend-down message (chat)');
    expectCleanPage();
  });

  it('answers without streaming when the toggle is off, and starts a new session on request', async () => {
    await start();
    const page = await open();
    await enterKey(page);
    await page.uncheck('#stream');
    nextReply = 'A complete answer.';
    await ask(page, 'no stream please');
    await waitForText(lastAnswer(page).locator('.status'), /#\d+/, 'the answer');
    expect(await lastAnswer(page).locator('.body').textContent()).toBe('A complete answer.');
    const first = await page.locator('#session-id').textContent();
    await page.click('#new-session');
    expect(await page.locator('#messages li').count()).toBe(0);
    const second = await page.locator('#session-id').textContent();
    expect(second).toMatch(/^[0-9a-f]{16}$/);
    expect(second).not.toBe(first);
    await ask(page, 'in the new session');
    await waitForText(lastAnswer(page).locator('.status'), /#\d+/, 'the second answer');
    const rows = await waitForRows(t!, 'SELECT * FROM conversations ORDER BY id', (found) => found.length === 2, 'both rows');
    expect(rows.map((row) => row.session_id)).toEqual([first, second]);
    // The stream preference survives a reload.
    await page.reload();
    expect(await page.locator('#stream').isChecked()).toBe(false);
    expectCleanPage();
  });

  it('fits a phone-width screen, and saves screenshots of the chat page', async () => {
    await start();
    nextReply = 'A circuit breaker stops calling a failing service:\n\n1. **closed**: calls pass\n2. **open**: calls fail fast\n3. **half-open**: one probe\n\n```ts\nbreaker.acquire();\n```';
    const desktop = await open();
    await enterKey(desktop);
    await ask(desktop, 'What does a circuit breaker do?');
    await waitForText(lastAnswer(desktop).locator('.status'), /#\d+/, 'the answer');
    await lastAnswer(desktop).locator('.rating button[aria-label="Rate 5 of 5"]').click();
    await waitForRows(t!, 'SELECT * FROM conversations', (rows) => rows[0]?.rating === 5, 'the rating');
    await waitForCount(lastAnswer(desktop).locator('.rating .star.on'), 5, 'lit stars');
    await desktop.screenshot({ path: join(SCREENSHOT_DIR, 'chat-desktop.png'), fullPage: true });

    // The same browser profile (key, session) on a phone-sized screen.
    const phone = desktop;
    await phone.setViewportSize({ width: 390, height: 844 });
    await phone.reload();
    await waitForText(phone.locator('#messages li.assistant .status'), /#\d+/, 'the restored session on the phone');
    const overflow = await phone.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
    expect(overflow).toBeLessThanOrEqual(0);
    for (const selector of ['#prompt', '#send', '#stop', '#api-key', '#model', '#history-toggle']) {
      const box = await phone.locator(selector).boundingBox();
      expect({ selector, inside: box !== null && box.x >= 0 && box.x + box.width <= 390 }).toEqual({ selector, inside: true });
    }
    expect(await phone.locator('#history').isVisible()).toBe(false);
    await phone.click('#history-toggle');
    await waitForText(phone.locator('#history-list > li').first(), /circuit breaker/, 'the history on the phone');
    await phone.screenshot({ path: join(SCREENSHOT_DIR, 'chat-phone.png'), fullPage: true });
    expectCleanPage();
  });

  it("reads SSE frames with id:, retry: and unknown fields by the standard's rules", async () => {
    await start();
    const page = await open();
    // The page's own parser, in the page (a string: the test's compiler must not rewrite the import).
    const events = await page.evaluate(`(async () => {
      const { SseParser } = await import('/static/sse.js');
      const seen = [];
      const parser = new SseParser((event) => seen.push(event));
      parser.push('id: 7\\nevent: token\\ndata: {"text":"a"}\\n\\n');
      parser.push('id: 8\\nretry: 1000\\nvendor-field: x\\nevent: done\\nid\\ndata: {"conversation_id":1}\\n\\nid: 9\\n\\n');
      return seen;
    })()`);
    expect(events).toEqual([
      { event: 'token', data: '{"text":"a"}' },
      { event: 'done', data: '{"conversation_id":1}' },
    ]);
    expectCleanPage();
  });

  it('serves Swagger UI at /docs under its CSP', async () => {
    await start();
    const page = await open();
    await page.goto(`${t!.url}/docs`);
    await waitForText(page.locator('.swagger-ui .info .title'), /Vega/, 'the Swagger UI title');
    await waitForText(page.locator('.swagger-ui .opblock-summary-path').first(), /\//, 'the list of operations');
    expect(consoleErrors.filter((message) => /Content Security Policy|Refused to/.test(message))).toEqual([]);
  });
});
