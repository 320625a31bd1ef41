import type { NewExchange } from '../conversation.repository';
import { toolSearchText } from '../stored-exchange';

/** The columns an exchange is written to, by the chat path and by the spool's replay alike. */
export const EXCHANGE_COLUMNS = [
  'prompt',
  'response',
  'source',
  'session_id',
  'model',
  'status',
  'prompt_tokens',
  'completion_tokens',
  'duration_ms',
  'ttft_ms',
  'kind',
  'request',
  'answer',
  'tool_text',
  'response_id',
  'key_id',
  'model_ms',
  'served_model',
  'target',
] as const;

/** The values of `EXCHANGE_COLUMNS` for one exchange: request and answer as JSON text, the tool words for search. */
export function exchangeValues(exchange: NewExchange): unknown[] {
  return [
    exchange.prompt,
    exchange.response,
    exchange.source,
    exchange.sessionId,
    exchange.model,
    exchange.status,
    exchange.promptTokens ?? null,
    exchange.completionTokens ?? null,
    exchange.durationMs ?? null,
    exchange.ttftMs ?? null,
    exchange.kind ?? 'chat',
    exchange.request ? JSON.stringify(exchange.request) : null,
    exchange.answer ? JSON.stringify(exchange.answer) : null,
    toolSearchText(exchange.request, exchange.answer),
    exchange.responseId ?? null,
    exchange.keyId ?? null,
    exchange.modelMs ?? null,
    exchange.servedModel ?? null,
    exchange.target ?? null,
  ];
}
