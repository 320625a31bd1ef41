import type { Locator } from 'playwright-core';

// Two shared cores and a real browser: waits are generous, and every wait names what it waited for.
export const WAIT_MS = 20_000;

export async function waitForText(locator: Locator, pattern: RegExp, what: string): Promise<string> {
  const deadline = Date.now() + WAIT_MS;
  let last = '';
  for (;;) {
    last = (await locator.count()) > 0 ? ((await locator.first().textContent()) ?? '') : '';
    if (pattern.test(last)) return last;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} to match ${pattern}; text: ${JSON.stringify(last)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export async function waitForCount(locator: Locator, count: number, what: string): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const found = await locator.count();
    if (found === count) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${count} ${what}; found ${found}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Polls `check` until it returns true. */
export async function waitUntil(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
