import type { CancelSignal } from '../../common/async/cancellation';

export type ChatRole = 'system' | 'user' | 'assistant';

export interface ChatMessage {
  role: ChatRole;
  content: string;
}

export interface BackendChatRequest {
  model: string;
  messages: ChatMessage[];
  /** Backend generation options (Ollama `options`: temperature, top_p, num_predict…). */
  options: Record<string, unknown>;
}

export interface BackendUsage {
  promptTokens: number;
  completionTokens: number;
}

export type BackendChunk = { type: 'token'; text: string } | { type: 'done'; usage: BackendUsage; doneReason?: string };

export interface BackendModel {
  name: string;
  size?: number;
  modifiedAt?: string;
  family?: string;
  parameterSize?: string;
  quantization?: string;
}

/**
 * The port every model backend implements (Ollama today; an OpenAI-compatible server can be
 * added as another adapter without touching Chat). Adapters throw the app errors of
 * `common/errors` and mark transient ones `retryable`; they never retry or time out on their
 * own — `LlmService` owns that policy — but must stop and free the connection as soon as
 * `signal` aborts, rethrowing `signal.reason`.
 */
export abstract class LlmBackend {
  abstract readonly kind: string;
  abstract chatStream(request: BackendChatRequest, signal: CancelSignal): AsyncIterable<BackendChunk>;
  abstract listModels(signal?: AbortSignal): Promise<BackendModel[]>;
  abstract version(signal?: AbortSignal): Promise<string>;
  /** One embedding vector per input text (Ollama `/api/embed`), in input order. */
  abstract embed(model: string, input: string[], signal?: AbortSignal): Promise<number[][]>;
  /** Releases connections (graceful shutdown). */
  abstract close(): Promise<void>;
}
