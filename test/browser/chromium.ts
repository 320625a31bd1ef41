import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';

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
