import type { Browser, BrowserContext, Page } from 'playwright-core';
import { FakeOllama } from '../support/fake-ollama';
import { queryDb } from '../support/sqlite';
import { startTestApp, TEST_API_KEY, TestApp } from '../support/test-app';
import { describeWithChromium, launchChromium } from './chromium';

jest.setTimeout(120_000);

/** What the page's EventSource saw. */
interface Seen {
  /** `event: token` / `done` / `error` frames, with the id EventSource reports for each */
  frames: { type: string; lastEventId: string }[];
  /** EventSource's own `error` events (connection lost or failed) */
  connectionErrors: number;
  /** readyState when the page stopped watching: 2 (CLOSED) when it gave up on its own */
  readyState: number;
}

/**
 * Chromium's own EventSource on GET /chat/sse: after the stream ends it reconnects (about 3 s
 * later) with Last-Event-ID, and a 204 must make it stop. The page watches for 15 s at most.
 */
describeWithChromium('GET /chat/sse with a browser EventSource', () => {
  const fake = new FakeOllama({ models: ['mistral'] });
  let browser: Browser;
  let t: TestApp | undefined;
  let context: BrowserContext | undefined;

  beforeAll(async () => {
    await fake.start();
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await fake.stop();
  });
  afterEach(async () => {
    await context?.close();
    context = undefined;
    await t?.close();
    t = undefined;
    fake.reset();
  });

  async function open(): Promise<{ page: Page; streamRequests: Promise<{ lastEventId?: string }>[] }> {
    t = await startTestApp({ OLLAMA_URL: fake.url, CACHE_TTL_SECONDS: '0', LLM_MAX_RETRIES: '0' });
    // EventSource cannot set headers; the context adds the key to every request, reconnects included.
    context = await browser.newContext({ extraHTTPHeaders: { 'x-api-key': TEST_API_KEY } });
    const page = await context.newPage();
    const streamRequests: Promise<{ lastEventId?: string }>[] = [];
    page.on('request', (request) => {
      // allHeaders(): the headers as sent, Last-Event-ID included (headers() leaves out what the network stack adds).
      if (new URL(request.url()).pathname === '/chat/sse') streamRequests.push(request.allHeaders().then((headers) => ({ lastEventId: headers['last-event-id'] })));
    });
    await page.goto(`${t.url}/`);
    return { page, streamRequests };
  }

  const watch = (page: Page, prompt: string): Promise<Seen> =>
    page.evaluate(
      (query) =>
        new Promise<Seen>((resolve) => {
          const source = new EventSource(`/chat/sse?prompt=${encodeURIComponent(query)}`);
          const seen: Seen = { frames: [], connectionErrors: 0, readyState: -1 };
          const finish = () => {
            clearTimeout(timer);
            seen.readyState = source.readyState;
            source.close();
            resolve(seen);
          };
          const timer = setTimeout(finish, 15_000);
          for (const type of ['token', 'done']) {
            source.addEventListener(type, (event) => seen.frames.push({ type, lastEventId: (event as MessageEvent).lastEventId }));
          }
          source.addEventListener('error', (event) => {
            // A server-sent `event: error` frame is a MessageEvent; EventSource's own error is a plain Event.
            if (event instanceof MessageEvent) seen.frames.push({ type: 'error', lastEventId: event.lastEventId });
            else seen.connectionErrors += 1;
            if (source.readyState === EventSource.CLOSED) finish();
          });
        }),
      prompt,
    );

  it('stops after the reconnect that follows event: done is answered 204: the prompt runs once, one row', async () => {
    const { page, streamRequests } = await open();
    const seen = await watch(page, 'a b c');
    expect(seen.readyState).toBe(2);
    expect(seen.frames.at(-1)).toEqual({ type: 'done', lastEventId: expect.stringMatching(/^[0-9a-f]{16}:\d+:done$/) });
    expect(await Promise.all(streamRequests)).toEqual([{ lastEventId: undefined }, { lastEventId: seen.frames.at(-1)!.lastEventId }]);
    expect(fake.chatRequests()).toHaveLength(1);
    expect(await queryDb<{ status: string }>(t!.dbPath, 'SELECT status FROM conversations')).toEqual([{ status: 'ok' }]);
  });

  it('stops after an event: error too: the failing prompt is not run again', async () => {
    const { page, streamRequests } = await open();
    fake.setDefaultFault({ kind: 'status', status: 500, message: 'boom' });
    const seen = await watch(page, 'fails');
    expect(seen.readyState).toBe(2);
    expect(seen.frames).toEqual([{ type: 'error', lastEventId: expect.stringMatching(/^[0-9a-f]{16}:1:error$/) }]);
    expect(await Promise.all(streamRequests)).toEqual([{ lastEventId: undefined }, { lastEventId: seen.frames[0].lastEventId }]);
    expect(fake.chatRequests()).toHaveLength(1);
    expect(await queryDb<{ status: string }>(t!.dbPath, 'SELECT status FROM conversations')).toEqual([{ status: 'error' }]);
  });
});
