import { applyDecorators } from '@nestjs/common';
import { ApiResponse } from '@nestjs/swagger';

const REASONS: Record<number, string> = {
  400: 'Invalid input, in Ollama\'s words (`model is required`, `invalid input type`, Go\'s `json: cannot unmarshal …`).',
  401: 'Missing or invalid API key.',
  404: "No host has the model (Ollama's message).",
  429: 'Rate limited: retry after the seconds in Retry-After.',
  502: 'The model backend answered with an error.',
  503: 'The model backend is unreachable or overloaded, or the circuit breaker is open.',
  504: 'The model backend timed out.',
};

/** The error answers of a Vega route at an Ollama path, in Ollama's shape `{"error": "…"}`. */
export function ApiOllamaModelErrors(...statuses: number[]): MethodDecorator {
  return applyDecorators(
    ...statuses.map((status) =>
      ApiResponse({
        status,
        description: REASONS[status] ?? 'Error.',
        schema: { type: 'object', required: ['error'], properties: { error: { type: 'string', example: "model 'llama9' not found" } } },
      }),
    ),
  );
}
