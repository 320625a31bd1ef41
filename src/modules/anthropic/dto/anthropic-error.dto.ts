import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiResponse } from '@nestjs/swagger';

export class AnthropicErrorDto {
  @ApiProperty({
    description:
      '`invalid_request_error` (400), `authentication_error` (401), `permission_error` (403), `not_found_error` (404), `request_too_large` (413), `rate_limit_error` (429), `api_error` (500, 502), `timeout_error` (504), `overloaded_error` (529).',
    example: 'invalid_request_error',
  })
  type!: string;

  @ApiProperty({ description: 'What went wrong, naming the field for invalid input.', example: 'max_tokens is required' })
  message!: string;
}

/** The body of every error under `/v1/messages`: Anthropic's shape, which its SDKs turn into their error classes. */
export class AnthropicErrorResponseDto {
  @ApiProperty({ enum: ['error'], example: 'error' })
  type!: 'error';

  @ApiProperty({ type: AnthropicErrorDto })
  error!: AnthropicErrorDto;
}

const DESCRIPTIONS: Record<number, string> = {
  400: 'Invalid request (`invalid_request_error`): the message names the field.',
  401: 'Missing or invalid API key (`authentication_error`): send it as `x-api-key` or `Authorization: Bearer`.',
  404: 'The model does not exist on the backend (`not_found_error`).',
  413: 'The body is too large, or the last user message is longer than MAX_PROMPT_CHARS (`request_too_large`).',
  429: "Rate limited (`rate_limit_error`: the key's requests per minute, or too many wrong keys from this address): retry after the seconds in Retry-After.",
  502: 'The model backend answered with an error (`api_error`).',
  504: 'The model backend timed out (`timeout_error`).',
  529: 'The model backend is unreachable or overloaded, or the circuit breaker is open (`overloaded_error`); see Retry-After.',
};

const RETRY_AFTER = { 'Retry-After': { description: 'Seconds to wait before retrying.', schema: { type: 'integer' } } };

/** Documents the error answers of an Anthropic route, all with `AnthropicErrorResponseDto`. */
export function ApiAnthropicErrors(...statuses: number[]): MethodDecorator & ClassDecorator {
  return applyDecorators(
    ...statuses.map((status) =>
      ApiResponse({
        status,
        description: DESCRIPTIONS[status] ?? 'Error.',
        type: AnthropicErrorResponseDto,
        headers: status === 429 || status === 529 ? RETRY_AFTER : undefined,
      }),
    ),
  );
}
