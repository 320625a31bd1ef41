import 'reflect-metadata';
import { IsInt, IsOptional, IsString, MaxLength, getMetadataStorage, validateSync } from 'class-validator';
import { cacheValidationMetadata } from '../../src/app/validation-metadata-cache';

class Base {
  @IsString()
  name!: string;
}

class Derived extends Base {
  @IsInt()
  count!: number;
}

class Late {
  @IsOptional()
  note?: unknown;
}

const messages = (object: object) =>
  validateSync(object, { whitelist: true, forbidNonWhitelisted: true, forbidUnknownValues: true }).flatMap((error) =>
    Object.values(error.constraints ?? {}),
  );

function instance<T extends object>(type: new () => T, values: Record<string, unknown>): T {
  return Object.assign(new type(), values);
}

describe('cacheValidationMetadata', () => {
  beforeAll(() => cacheValidationMetadata());

  it('answers the same lookups, inherited rules included, from the second call on', () => {
    const storage = getMetadataStorage();
    const first = storage.getTargetValidationMetadatas(Derived, '', false, false);
    const second = storage.getTargetValidationMetadatas(Derived, '', false, false);
    expect(second).toBe(first);
    expect(first.map((m) => m.propertyName).sort()).toEqual(['count', 'name']);
    expect(storage.groupByPropertyName(second)).toBe(storage.groupByPropertyName(first));
  });

  it('still validates each class by its own and inherited rules', () => {
    expect(messages(instance(Derived, { name: 'a', count: 1 }))).toEqual([]);
    expect(messages(instance(Derived, { name: 3, count: 'x' })).sort()).toEqual(['count must be an integer number', 'name must be a string']);
    expect(messages(instance(Base, { name: 'a', count: 'x' }))).toEqual(['property count should not exist']);
  });

  it('keeps the options apart: groups do not share an entry', () => {
    const storage = getMetadataStorage();
    const plain = storage.getTargetValidationMetadatas(Derived, '', false, false);
    const grouped = storage.getTargetValidationMetadatas(Derived, '', false, false, ['admin']);
    expect(grouped).not.toBe(plain);
  });

  it('sees a rule added after the class was first validated', () => {
    expect(messages(instance(Late, { note: 'x'.repeat(20) }))).toEqual([]);
    IsString()(Late.prototype, 'note');
    MaxLength(10)(Late.prototype, 'note');
    expect(messages(instance(Late, { note: 'x'.repeat(20) }))).toEqual(['note must be shorter than or equal to 10 characters']);
    expect(messages(instance(Late, { note: 5 })).sort()).toEqual(['note must be a string', 'note must be shorter than or equal to 10 characters']);
  });
});
