import { applyDecorators } from '@nestjs/common';
import { Transform } from 'class-transformer';
import { IsOptional, ValidateIf, type ValidationOptions } from 'class-validator';

/**
 * An optional field: when it is absent its rules are skipped; `null` is checked by them, and
 * refused with the field's own message. class-validator's `@IsOptional()` skips `null` too, which
 * let `{"temperature": null}` through to the model and into stored settings: use this instead.
 */
export function IsOptionalNotNull(options?: ValidationOptions): PropertyDecorator {
  return ValidateIf((_object, value) => value !== undefined, options);
}

/**
 * An optional field that a published protocol allows to be `null` (OpenAI's `temperature`,
 * `stop`, `max_tokens`…): `null` is taken as "not given" and removed from the request, so it is
 * never forwarded.
 */
export function OptionalNullable(): PropertyDecorator {
  return applyDecorators(
    Transform(({ value }: { value: unknown }) => (value === null ? undefined : value)),
    IsOptional(),
  );
}
