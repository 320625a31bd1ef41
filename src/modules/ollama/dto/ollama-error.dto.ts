import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiResponse } from '@nestjs/swagger';

/** Ollama's error body, which the Ollama clients raise as `ResponseError`. */
export class OllamaErrorResponseDto {
  @ApiProperty({ description: 'What went wrong (Ollama\'s own words when Ollama refused the request).', example: 'model "llama9" not found, try pulling it first' })
  error!: string;
}

const DESCRIPTIONS: Record<number, string> = {
  400: 'Invalid input, in Ollama\'s words (a field of the wrong type, `model is required`, a capability the model lacks).',
  401: 'Missing or invalid API key (send it as `Authorization: Bearer <key>`, the Ollama clients\' `headers` option).',
  403: 'The key lacks the scope the route needs; the message names it.',
  404: 'The model does not exist on the backend (Ollama\'s message).',
  413: 'The last user message or the prompt is over MAX_PROMPT_CHARS, or the body is too large.',
  429: "Rate limited (the key's requests per minute, or too many wrong keys from this address): retry after Retry-After seconds.",
  502: 'The model backend answered with an error.',
  503: 'The model backend is unreachable or overloaded, or the circuit breaker is open; see Retry-After.',
  504: 'The model backend timed out.',
};

const RETRY_AFTER = { 'Retry-After': { description: 'Seconds to wait before retrying.', schema: { type: 'integer' } } };

/** Documents the error answers of one of Ollama's native routes, all with `{"error": "…"}`. */
export function ApiOllamaErrors(...statuses: number[]): MethodDecorator & ClassDecorator {
  return applyDecorators(
    ...statuses.map((status) =>
      ApiResponse({
        status,
        description: DESCRIPTIONS[status] ?? 'Error.',
        type: OllamaErrorResponseDto,
        headers: status === 429 || status === 503 ? RETRY_AFTER : undefined,
      }),
    ),
  );
}
