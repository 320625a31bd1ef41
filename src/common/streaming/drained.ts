import { once } from 'node:events';
import type { Writable } from 'node:stream';

/**
 * Waits until a full socket can take more (`drain`) or is gone (`close`), then removes the
 * listener that did not fire: a long stream to a slow client waits many times, and each wait left
 * a `close` listener behind on the response until it ended.
 */
export async function drained(raw: Writable): Promise<void> {
  const settled = new AbortController();
  try {
    await Promise.race([once(raw, 'drain', { signal: settled.signal }), once(raw, 'close', { signal: settled.signal })]);
  } finally {
    settled.abort();
  }
}
