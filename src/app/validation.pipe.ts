import { BadRequestException, ValidationError, ValidationPipe } from '@nestjs/common';
import { cacheValidationMetadata } from './validation-metadata-cache';

/**
 * Validates every body and query against its DTO: unknown fields are refused, and the 400
 * message names each offending field (nested ones by their path, e.g. `options.top_k`).
 */
export function createValidationPipe(): ValidationPipe {
  cacheValidationMetadata();
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    forbidUnknownValues: true,
    transform: true,
    validationError: { target: false, value: false },
    // The errors ride along as the cause, for error shapes that name the field apart (OpenAI's `param`).
    exceptionFactory: (errors) => new BadRequestException(flatten(errors).join('; ') || 'Invalid request', { cause: errors }),
  });
}

/** One message per failed constraint, nested fields named by their path (also used by the CLI). */
export function flatten(errors: ValidationError[], prefix = ''): string[] {
  return errors.flatMap((error) => {
    const path = prefix ? `${prefix}.${error.property}` : error.property;
    const own = Object.values(error.constraints ?? {}).map((message) =>
      prefix && message.startsWith(error.property) ? `${prefix}.${message}` : message,
    );
    return [...own, ...flatten(error.children ?? [], path)];
  });
}
