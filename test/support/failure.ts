/**
 * The error `call` fails with, checked to be a `type` (a client SDK's error class); the test fails
 * when the call succeeds.
 */
export async function failureOf<E>(call: () => Promise<unknown>, type: abstract new (...args: never[]) => E): Promise<E> {
  try {
    await call();
  } catch (error) {
    expect(error).toBeInstanceOf(type);
    return error as E;
  }
  throw new Error('expected the call to fail');
}
