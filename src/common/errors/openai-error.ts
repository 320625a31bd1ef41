import { HttpException } from '@nestjs/common';
import type { ValidationError } from 'class-validator';
import type { ErrorBody } from './all-exceptions.filter';
import { AppError, ModelNotFoundError } from './app-errors';

/**
 * OpenAI's error body, which the OpenAI SDKs parse into `APIError` (`status`, `message`, `type`,
 * `param`, `code`). The routes under `/v1/` answer errors in this shape — the API-key guard's
 * 401 and the rate limiter's 429 included — and every other route keeps Vega's own.
 */
export interface OpenAiErrorBody {
  error: {
    message: string;
    type: string;
    param: string | null;
    code: string | null;
  };
}

/** The routes that speak OpenAI's wire format. */
export function isOpenAiPath(url: string | undefined): boolean {
  return url !== undefined && (url === '/v1' || url.startsWith('/v1/') || url.startsWith('/v1?'));
}

/** The OpenAI body for an error already described in Vega's terms (same status and message). */
export function openAiErrorBody(exception: unknown, described: ErrorBody): OpenAiErrorBody {
  const status = described.statusCode;
  const field = invalidField(exception);
  return {
    error: {
      message: described.message,
      type: typeFor(status),
      param: field?.path ?? paramFor(exception, status),
      code: field?.unknown ? 'unknown_parameter' : codeFor(exception, status),
    },
  };
}

function typeFor(status: number): string {
  if (status === 429) return 'requests';
  if (status >= 500) return 'server_error';
  return 'invalid_request_error';
}

function paramFor(exception: unknown, status: number): string | null {
  if (exception instanceof AppError && exception.param) return exception.param;
  if (exception instanceof ModelNotFoundError) return 'model';
  if (status === 413) return 'messages';
  return null;
}

function codeFor(exception: unknown, status: number): string | null {
  if (exception instanceof AppError && exception.code) return exception.code;
  if (exception instanceof ModelNotFoundError) return 'model_not_found';
  switch (status) {
    case 401:
      return 'invalid_api_key';
    case 413:
      return 'context_length_exceeded';
    case 429:
      return 'rate_limit_exceeded';
    case 502:
      return 'backend_error';
    case 503:
      return 'backend_unavailable';
    case 504:
      return 'backend_timeout';
    default:
      return null;
  }
}

/**
 * The first field the validation pipe refused (it passes its `ValidationError`s as the
 * exception's cause), as a dotted path such as `messages.0.role`; `unknown` when the field is
 * not part of the request at all.
 */
function invalidField(exception: unknown): { path: string; unknown: boolean } | undefined {
  if (!(exception instanceof HttpException) || !Array.isArray(exception.cause)) return undefined;
  return firstLeaf(exception.cause as ValidationError[], '');
}

function firstLeaf(errors: ValidationError[], prefix: string): { path: string; unknown: boolean } | undefined {
  for (const error of errors) {
    if (!error || typeof error.property !== 'string') continue;
    const path = prefix ? `${prefix}.${error.property}` : error.property;
    const constraints = Object.keys(error.constraints ?? {});
    if (constraints.length > 0) return { path, unknown: constraints.includes('whitelistValidation') };
    const nested = firstLeaf(error.children ?? [], path);
    if (nested) return nested;
  }
  return undefined;
}
