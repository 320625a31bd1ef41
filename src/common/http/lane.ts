import { isAnthropicPath } from '../errors/anthropic-error';
import { isOllamaPath } from '../errors/ollama-error';
import { isOpenAiPath } from '../errors/openai-error';

/**
 * The API dialect a request speaks: Vega's own routes (`api`), OpenAI's (`/v1/…`), Ollama's
 * (`/api/…`), Anthropic's Messages (`/v1/messages`) or OpenAI's Responses (`/v1/responses`). It is
 * the `source` its exchanges are stored under and the `lane` label of the model-call metrics.
 */
export type Lane = 'api' | 'openai' | 'ollama' | 'anthropic' | 'responses';
export const LANES: readonly Lane[] = ['api', 'openai', 'ollama', 'anthropic', 'responses'];

export function laneOf(url: string): Lane {
  if (isAnthropicPath(url)) return 'anthropic';
  if (url === '/v1/responses' || url.startsWith('/v1/responses/') || url.startsWith('/v1/responses?')) return 'responses';
  if (isOpenAiPath(url)) return 'openai';
  if (isOllamaPath(url)) return 'ollama';
  return 'api';
}
