import { applyDecorators } from '@nestjs/common';
import { ApiResponse } from '@nestjs/swagger';
import { ErrorResponseDto } from './error-response.dto';

const DESCRIPTIONS: Record<number, string> = {
  400: 'Invalid input: the message names the field.',
  401: 'Missing or invalid API key.',
  404: 'Not found (for chat: the model does not exist on the backend; the message is the backend\'s).',
  409: 'Conflicts with what is stored (e.g. the name is taken).',
  413: 'The prompt (or the body) is larger than allowed.',
  429: "Rate limited (the key's requests per minute, or too many wrong keys from this address): retry after the number of seconds in Retry-After.",
  502: 'The model backend answered with an error.',
  503: 'The model backend is unreachable or overloaded, or the circuit breaker is open; see Retry-After.',
  504: 'The model backend timed out (whole request, first token, or a stalled stream).',
};

const RETRY_AFTER = {
  'Retry-After': { description: 'Seconds to wait before retrying.', schema: { type: 'integer' } },
};

/**
 * Documents the error answers a route can give, all with the `ErrorResponseDto` body; a
 * `[status, description]` pair replaces the default description (e.g. a 502 from a web site).
 */
export function ApiErrors(...statuses: (number | readonly [number, string])[]): MethodDecorator & ClassDecorator {
  return applyDecorators(
    ...statuses.map((entry) => {
      const [status, description] = typeof entry === 'number' ? [entry, DESCRIPTIONS[entry]] : entry;
      return ApiResponse({
        status,
        description: description ?? 'Error.',
        type: ErrorResponseDto,
        headers: status === 429 || status === 503 ? RETRY_AFTER : undefined,
      });
    }),
  );
}

/** The errors of a route that fetches from the web through the outbound fetcher (plus `extra`). */
export function ApiFetchErrors(...extra: (number | readonly [number, string])[]): MethodDecorator & ClassDecorator {
  return ApiErrors(
    [400, 'Invalid input, or a target the SSRF guard refuses (private, loopback or link-local address, not http(s)); the message says why.'],
    401,
    429,
    [502, 'A remote site failed: unreachable, an error status, a wrong content type, or a body over FETCH_MAX_BYTES.'],
    [504, 'A remote site did not answer within FETCH_TIMEOUT_SEC.'],
    ...extra,
  );
}
