import { ArgumentMetadata, BadRequestException, ValidationError, ValidationPipe } from '@nestjs/common';
import { plainAcceptFor } from '../common/validation/accept-plain';
import { cacheValidationMetadata } from './validation-metadata-cache';

/** Nest's ValidationPipe, with the `AcceptPlainWhen` shortcut for request bodies. */
class DtoValidationPipe extends ValidationPipe {
  // A value, not a promise, when the shortcut applies: Nest awaits whatever a pipe returns.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the base class's signature
  override transform(value: unknown, metadata: ArgumentMetadata): Promise<any> {
    const type = metadata.type === 'body' ? metadata.metatype : undefined;
    const accept = type && plainAcceptFor(type);
    if (accept && accept(value)) {
      return Object.assign(new (type as new () => object)(), value) as unknown as Promise<unknown>;
    }
    return super.transform(value, metadata);
  }
}

/**
 * Validates every body and query against its DTO: unknown fields are refused, and the 400
 * message names each offending field (nested ones by their path, e.g. `options.top_k`).
 */
export function createValidationPipe(): ValidationPipe {
  cacheValidationMetadata();
  return new DtoValidationPipe(validationPipeOptions());
}

/** The options of the app's pipe (also what the tests compare the shortcut against). */
export function validationPipeOptions(): ConstructorParameters<typeof ValidationPipe>[0] {
  return {
    whitelist: true,
    forbidNonWhitelisted: true,
    forbidUnknownValues: true,
    transform: true,
    // The value is kept to tell a missing field ("is required") from a wrong one.
    validationError: { target: false },
    // The errors ride along as the cause, for error shapes that name the field apart (OpenAI's `param`).
    exceptionFactory: (errors) => new BadRequestException(flatten(errors).join('; ') || 'Invalid request', { cause: errors }),
  };
}

/**
 * One message per field, nested fields named by their path (also used by the CLI): "is required"
 * for a missing one, else its first rule as written that failed — the type before the length or
 * the range, not every rule the value breaks. Decorators apply bottom-up, so that rule is the
 * last constraint class-validator lists.
 */
export function flatten(errors: ValidationError[], prefix = ''): string[] {
  return errors.flatMap((error) => {
    const path = prefix ? `${prefix}.${error.property}` : error.property;
    const messages = Object.values(error.constraints ?? {});
    const own: string[] = [];
    if ('value' in error && error.value === undefined && messages.length > 0) {
      own.push(`${path} is required`);
    } else if (messages.length > 0) {
      const message = messages[messages.length - 1];
      own.push(prefix && message.startsWith(error.property) ? `${prefix}.${message}` : message);
    }
    return [...own, ...flatten(error.children ?? [], path)];
  });
}
