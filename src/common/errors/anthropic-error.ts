import type { ErrorBody } from './all-exceptions.filter';
import { BackendUnavailableError } from './app-errors';

/**
 * Anthropic's error body, `{"type": "error", "error": {"type": …, "message": …}}`, which the
 * Anthropic SDKs turn into their error classes by status (`AuthenticationError`,
 * `NotFoundError`, `OverloadedError`…). The routes under `/v1/messages` (Anthropic's Messages
 * API) answer every error in this shape — the API-key guard's 401, the rate limiter's 429 and
 * the body parser's 400s and 413s included.
 */
export interface AnthropicErrorBody {
  type: 'error';
  error: { type: string; message: string };
}

/** The routes that speak Anthropic's wire format. */
export function isAnthropicPath(url: string | undefined): boolean {
  return url !== undefined && (url === '/v1/messages' || url.startsWith('/v1/messages/') || url.startsWith('/v1/messages?'));
}

/**
 * Anthropic's status for an error Vega describes with `status`: an unavailable or overloaded
 * backend (and an open circuit breaker) is Anthropic's 529 `overloaded_error`, what its
 * clients expect and retry; every other status stays as it is.
 */
export function anthropicStatus(exception: unknown, status: number): number {
  return exception instanceof BackendUnavailableError ? 529 : status;
}

/** The Anthropic body for an error already described in Vega's terms (same message). */
export function anthropicErrorBody(exception: unknown, described: ErrorBody): AnthropicErrorBody {
  return { type: 'error', error: { type: errorType(anthropicStatus(exception, described.statusCode)), message: described.message } };
}

/** Anthropic's `error.type` of a status (docs.claude.com/en/api/errors). */
function errorType(status: number): string {
  switch (status) {
    case 401:
      return 'authentication_error';
    case 402:
      return 'billing_error';
    case 403:
      return 'permission_error';
    case 404:
      return 'not_found_error';
    case 413:
      return 'request_too_large';
    case 429:
      return 'rate_limit_error';
    case 504:
      return 'timeout_error';
    case 503:
    case 529:
      return 'overloaded_error';
    default:
      return status < 500 ? 'invalid_request_error' : 'api_error';
  }
}
