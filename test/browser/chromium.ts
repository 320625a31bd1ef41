import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { WAIT_MS } from './waits';

/** Debian's Chromium (`apt-get install chromium`); Playwright drives it, it downloads nothing. */
export const CHROMIUM_PATH = process.env.VEGA_CHROMIUM_PATH ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export const SCREENSHOT_DIR = join(__dirname, '__screenshots__');

/**
 * `describe` when Chromium is installed, else `describe.skip` with a message. CI sets
 * VEGA_REQUIRE_CHROMIUM, so there a missing browser fails the run instead of skipping it.
 */
export function describeWithChromium(name: string, body: () => void): void {
  if (existsSync(CHROMIUM_PATH)) return describe(name, body);
  if (process.env.VEGA_REQUIRE_CHROMIUM) {
    describe(name, () => {
      it('needs Chromium', () => {
        throw new Error(`${CHROMIUM_PATH} is missing (apt-get install chromium); VEGA_REQUIRE_CHROMIUM is set`);
      });
    });
    return;
  }
  process.stderr.write(`Skipping browser tests "${name}": ${CHROMIUM_PATH} is missing (apt-get install chromium)\n`);
  describe.skip(name, body);
}

export async function launchChromium(): Promise<Browser> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, headless: true, timeout: 60_000 });
}

/**
 * The usual hooks of a browser spec: one Chromium for the file, a fresh context per page (closed
 * after each test, before the spec's own afterEach closes its app), and what the pages logged as
 * errors (a CSP violation is one; a refused request, an expected outcome here, is not) and requested.
 */
export function useChromium() {
  let browser: Browser;
  let context: BrowserContext | undefined;
  const consoleErrors: string[] = [];
  const requestedUrls: string[] = [];
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });
  afterEach(async () => {
    await context?.close();
    context = undefined;
    consoleErrors.length = 0;
    requestedUrls.length = 0;
  });
  return {
    consoleErrors,
    requestedUrls,
    /** The context of the page opened last. */
    get context(): BrowserContext {
      if (!context) throw new Error('open() a page first');
      return context;
    },
    /** A page at `url`, in a context of its own. */
    async open(url: string, viewport = { width: 1280, height: 860 }): Promise<Page> {
      context = await browser.newContext({ viewport });
      const page = await context.newPage();
      page.setDefaultTimeout(WAIT_MS);
      page.on('console', (message) => {
        if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) consoleErrors.push(message.text());
      });
      page.on('pageerror', (error) => consoleErrors.push(`page error: ${error.message}`));
      page.on('request', (request) => requestedUrls.push(request.url()));
      await page.goto(url);
      return page;
    },
  };
}
