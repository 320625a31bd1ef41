import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiResponse } from '@nestjs/swagger';

export class OpenAiErrorDto {
  @ApiProperty({ description: 'What went wrong, naming the field for invalid input.', example: 'temperature must not be greater than 2' })
  message!: string;

  @ApiProperty({
    description: '`invalid_request_error` (4xx), `requests` (429) or `server_error` (5xx).',
    example: 'invalid_request_error',
  })
  type!: string;

  @ApiProperty({ description: 'The offending field (a dotted path such as `messages.0.role`), or null.', type: 'string', nullable: true, example: 'temperature' })
  param!: string | null;

  @ApiProperty({
    description:
      'A machine-readable code or null: `invalid_api_key`, `model_not_found`, `unknown_parameter`, `unsupported_field`, `context_length_exceeded`, `rate_limit_exceeded`, `backend_error`, `invalid_model_output`, `backend_unavailable`, `backend_timeout`.',
    type: 'string',
    nullable: true,
    example: null,
  })
  code!: string | null;
}

/** The body of every error under `/v1/`: OpenAI's shape, which the OpenAI SDKs turn into `APIError`. */
export class OpenAiErrorResponseDto {
  @ApiProperty({ type: OpenAiErrorDto })
  error!: OpenAiErrorDto;
}

const DESCRIPTIONS: Record<number, string> = {
  400: 'Invalid request: `param` names the field (`unknown_parameter` for a field OpenAI has but Vega does not honour).',
  401: 'Missing or invalid API key (`invalid_api_key`).',
  404: 'The model does not exist on the backend (`model_not_found`).',
  413: 'The last user message is longer than MAX_PROMPT_CHARS, or the body is too large (`context_length_exceeded`).',
  429: "Rate limited (`rate_limit_exceeded`: the key's requests per minute, or too many wrong keys from this address): retry after the seconds in Retry-After.",
  502: 'The model backend answered with an error (`backend_error`), or a strict `json_schema` answer did not follow its schema (`invalid_model_output`).',
  503: 'The model backend is unreachable or overloaded, or the circuit breaker is open (`backend_unavailable`); see Retry-After.',
  504: 'The model backend timed out (`backend_timeout`).',
};

const RETRY_AFTER = { 'Retry-After': { description: 'Seconds to wait before retrying.', schema: { type: 'integer' } } };

/** Documents the error answers of an OpenAI-compatible route, all with `OpenAiErrorResponseDto`. */
export function ApiOpenAiErrors(...statuses: number[]): MethodDecorator & ClassDecorator {
  return applyDecorators(
    ...statuses.map((status) =>
      ApiResponse({
        status,
        description: DESCRIPTIONS[status] ?? 'Error.',
        type: OpenAiErrorResponseDto,
        headers: status === 429 || status === 503 ? RETRY_AFTER : undefined,
      }),
    ),
  );
}
