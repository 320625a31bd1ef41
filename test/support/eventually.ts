/**
 * Reads until `check` holds or `ms` pass, and returns the last value read: the test then asserts
 * on it (a value that never came shows in the failure as it was).
 */
export async function eventually<T>(read: () => Promise<T>, check: (value: T) => boolean, ms = 10_000, everyMs = 25): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (check(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
