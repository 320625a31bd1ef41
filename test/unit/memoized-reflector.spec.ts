import { SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { MemoizedReflector } from '../../src/common/metadata/memoized-reflector';

const ROLE = 'test:role';
const Tagged = Reflector.createDecorator<string>();

@SetMetadata(ROLE, 'controller')
class Routes {
  @SetMetadata(ROLE, 'handler')
  @Tagged('tagged')
  marked(): void {}

  plain(): void {}
}

class Subclass extends Routes {}

describe(MemoizedReflector.name, () => {
  const plain = new Reflector();

  it('answers exactly what the plain Reflector answers, for keys, decorators and absent metadata', () => {
    const memoized = new MemoizedReflector();
    const targets = [Routes, Subclass, Routes.prototype.marked, Routes.prototype.plain];
    for (const target of targets) {
      for (let read = 0; read < 2; read += 1) {
        expect(memoized.get(ROLE, target)).toBe(plain.get(ROLE, target));
        expect(memoized.get(Tagged, target)).toBe(plain.get(Tagged, target));
      }
    }
    expect(memoized.getAllAndOverride(ROLE, [Routes.prototype.marked, Routes])).toBe('handler');
    expect(memoized.getAllAndOverride(ROLE, [Routes.prototype.plain, Routes])).toBe('controller');
    expect(memoized.getAllAndOverride('test:absent', [Routes.prototype.plain, Routes])).toBeUndefined();
  });

  it('reads reflect-metadata once per target and key', () => {
    const memoized = new MemoizedReflector();
    const lookups = jest.spyOn(Reflect, 'getMetadata');
    try {
      for (let read = 0; read < 5; read += 1) memoized.getAllAndOverride(ROLE, [Routes.prototype.plain, Routes]);
      expect(lookups).toHaveBeenCalledTimes(2);
    } finally {
      lookups.mockRestore();
    }
  });
});
