import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { FakeOllama } from '../support/fake-ollama';
import { startTestApp, TEST_API_KEY, TestApp } from '../support/test-app';
import { describeWithChromium, SCREENSHOT_DIR, useChromium } from './chromium';
import { waitForCount, waitForText, waitUntil } from './waits';

jest.setTimeout(120_000);

/** A 1×1 PNG. */
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64');
const THINKING = Array.from({ length: 12 }, (_, i) => `step${i + 1}`).join(' ');

describeWithChromium('web UI in Chromium: images and thinking', () => {
  const fake = new FakeOllama({
    models: [{ name: 'qwen3-vl', capabilities: ['completion', 'thinking', 'vision', 'tools'] }],
    respond: (req) =>
      Array.isArray(req.tools) ? { toolCalls: [{ name: 'get_weather', arguments: { city: 'Oslo' } }] } : { thinking: THINKING, content: 'A single **dot**.' },
    tokenDelayMs: 100,
  });
  const chromium = useChromium();
  const { consoleErrors } = chromium;
  let t: TestApp | undefined;
  const chatBodies: Record<string, unknown>[] = [];

  beforeAll(() => fake.start());
  afterAll(() => fake.stop());
  afterEach(async () => {
    await t?.close();
    t = undefined;
    fake.reset();
    chatBodies.length = 0;
  });

  async function open(): Promise<Page> {
    t = await startTestApp({ OLLAMA_URL: fake.url, MODEL_NAME: 'qwen3-vl', CACHE_TTL_SECONDS: '0' });
    const page = await chromium.open(`${t.url}/`);
    page.on('request', (request) => {
      if (/\/chat(\/sse)?$/.test(new URL(request.url()).pathname)) chatBodies.push(JSON.parse(request.postData() ?? '{}') as Record<string, unknown>);
    });
    await page.fill('#api-key', TEST_API_KEY);
    await page.click('#key-form button[type=submit]');
    return page;
  }

  /** Pastes a PNG into the prompt, as a screenshot tool's clipboard holds it. */
  async function pasteImage(page: Page, name: string): Promise<void> {
    // A string: the test's TypeScript has no DOM types.
    await page.evaluate(`(() => {
      const data = new DataTransfer();
      data.items.add(new File([Uint8Array.from(${JSON.stringify([...PNG])})], ${JSON.stringify(name)}, { type: 'image/png' }));
      document.getElementById('prompt').dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));
    })()`);
  }

  const lastAnswer = (page: Page) => page.locator('#messages li.assistant').last();

  it('attaches images by picker and by paste, sends them as data URLs, and folds the streamed reasoning above the answer', async () => {
    const page = await open();
    await page.check('#think');
    await page.setInputFiles('#image-input', { name: 'dot.png', mimeType: 'image/png', buffer: PNG });
    await pasteImage(page, 'pasted.png');
    await waitForCount(page.locator('#attachments img.thumb'), 2, 'two thumbnails');
    // A thumbnail can be removed before sending.
    await pasteImage(page, 'third.png');
    await waitForCount(page.locator('#attachments img.thumb'), 3, 'three thumbnails');
    await page.click('#attachments li:nth-child(3) .remove');
    await waitForCount(page.locator('#attachments img.thumb'), 2, 'two thumbnails again');

    await page.fill('#prompt', 'What is in these pictures?');
    await page.press('#prompt', 'Enter');
    const answer = lastAnswer(page);
    const details = answer.locator('details.thinking');
    // While it streams: the reasoning grows inside a closed <details>, above the answer.
    await waitForText(details.locator('.thinking-text'), /step2\b/, 'the first reasoning');
    expect(await details.getAttribute('open')).toBeNull();
    expect(await details.locator('summary').textContent()).toBe('Thinking…');
    await waitForText(answer.locator('.status'), /#\d+/, 'the finished answer');
    expect(await details.locator('summary').textContent()).toBe('Thought');
    expect(await details.getAttribute('open')).toBeNull();
    expect(await answer.locator(':scope > *').evaluateAll((children) => children.map((child) => child.getAttribute('class')))).toEqual(['thinking', 'body markdown', 'meta']);
    expect(await answer.locator('.body strong').textContent()).toBe('dot');
    await details.locator('summary').click();
    expect(await details.locator('.thinking-text').textContent()).toBe(THINKING);
    await page.screenshot({ path: join(SCREENSHOT_DIR, 'chat-images-thinking.png') });

    // The question shows its images; the composer is empty for the next one.
    await waitForCount(page.locator('#messages li.user img.thumb'), 2, 'the images in the question');
    expect(await page.locator('#attachments').isHidden()).toBe(true);
    const dataUrl = `data:image/png;base64,${PNG.toString('base64')}`;
    expect(chatBodies).toEqual([expect.objectContaining({ prompt: 'What is in these pictures?', think: true, images: [dataUrl, dataUrl] })]);
    const sent = fake.chatRequests()[0].body as { think?: unknown; messages: { images?: string[] }[] };
    expect(sent.think).toBe(true);
    expect(sent.messages.at(-1)!.images).toEqual([PNG.toString('base64'), PNG.toString('base64')]);

    // The history panel's copy of the exchange (GET /conversations/{id}): the images by type and
    // size (their pixels are not stored), and the reasoning folded above the answer.
    const item = page.locator('#history-list li').first();
    await waitForText(item, /What is in these pictures/, 'the exchange in the history panel');
    await item.locator('.history-head').click();
    await waitForText(item.locator('.stored-images'), /^With 2 images: png, 1 KB; png, 1 KB$/, 'the stored images');
    const stored = item.locator('.history-details details.thinking');
    expect(await stored.getAttribute('open')).toBeNull();
    expect(await stored.locator('.thinking-text').textContent()).toBe(THINKING);
    expect(consoleErrors).toEqual([]);
  });

  it('shows the reasoning of a whole answer too, keeps Think across a reload, and refuses a file that is not an image', async () => {
    const page = await open();
    await page.check('#think');
    await page.uncheck('#stream');
    await page.setInputFiles('#image-input', { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('not a picture') });
    await waitForText(page.locator('#notice-text'), /notes\.txt is not a PNG, JPEG, GIF or WebP image/, 'the refusal');
    expect(await page.locator('#attachments img.thumb').count()).toBe(0);
    await page.fill('#prompt', 'Think it over');
    await page.press('#prompt', 'Enter');
    const answer = lastAnswer(page);
    await waitForText(answer.locator('.status'), /#\d+/, 'the finished answer');
    expect(await answer.locator('details.thinking summary').textContent()).toBe('Thought');
    expect(await answer.locator('details.thinking .thinking-text').textContent()).toBe(THINKING);
    expect(chatBodies.at(-1)).toEqual({ prompt: 'Think it over', session_id: expect.any(String), think: true });
    // An agent's exchange over /v1: the history panel shows the call the model made.
    const tools = [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }];
    const agent = await t!.request('/v1/chat/completions', { body: { model: 'qwen3-vl', messages: [{ role: 'user', content: 'Weather in Oslo?' }], tools } });
    expect(agent.status).toBe(200);
    await page.reload();
    await waitUntil(async () => page.locator('#think').isChecked(), 'Think still on after a reload');
    const item = page.locator('#history-list li').first();
    await waitForText(item, /Weather in Oslo\?/, 'the agent exchange in the history panel');
    await item.locator('.history-head').click();
    await waitForText(item.locator('.tool-call'), /^Called get_weather\(\{"city":"Oslo"\}\)$/, 'the tool call');
    expect(consoleErrors).toEqual([]);
  });
});
