import { Injectable, Type } from '@nestjs/common';
import { Reflector } from '@nestjs/core';

/**
 * A `Reflector` that remembers what it read. Route metadata is written by decorators when the
 * classes are defined and does not change once the application is up, yet the guards read it
 * on every request: the rate limiter asks for six keys on the handler and on the controller,
 * and each `reflect-metadata` lookup walks the target's prototype chain. Here each
 * (target, key) pair is looked up once and then served from a map.
 */
/** Remembers that a key has no value on a target, in one map lookup. */
const ABSENT = Symbol('absent');

@Injectable()
export class MemoizedReflector extends Reflector {
  private readonly byTarget = new WeakMap<object, Map<unknown, unknown>>();

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the base class's signature
  override get(metadataKeyOrDecorator: any, target: Type<unknown> | Function): any {
    let known = this.byTarget.get(target);
    if (!known) {
      known = new Map();
      this.byTarget.set(target, known);
    }
    const seen = known.get(metadataKeyOrDecorator);
    if (seen !== undefined) return seen === ABSENT ? undefined : seen;
    const value: unknown = super.get(metadataKeyOrDecorator, target);
    known.set(metadataKeyOrDecorator, value === undefined ? ABSENT : value);
    return value;
  }
}
