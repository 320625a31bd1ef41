/**
 * A check that a request body is one the DTO's rules accept exactly as it is: a plain object
 * whose every field is one the DTO declares, with a valid value. It may refuse more than the rules do (the
 * full validation then runs and decides, with its messages), never less.
 */
export type PlainAccept = (value: unknown) => boolean;

const plainAccepts = new WeakMap<Function, PlainAccept>();

/**
 * Lets the bodies that `accept` passes skip class-transformer and class-validator: they become
 * an instance of the DTO directly, as `plainToInstance` would make them. For the hot routes
 * (a chat request), where the full validation costs about as much as the rest of Nest's
 * request handling. Anything `accept` refuses is validated in full.
 */
export function AcceptPlainWhen(accept: PlainAccept): ClassDecorator {
  return (target) => {
    plainAccepts.set(target, accept);
  };
}

/** The plain-object test shared by the `PlainAccept` checks: JSON's own kind of object. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype;
}

/** The check registered for `type` by `AcceptPlainWhen`, if any. */
export function plainAcceptFor(type: Function): PlainAccept | undefined {
  return plainAccepts.get(type);
}
