import type { ErrorBody } from './all-exceptions.filter';
import { AppError } from './app-errors';

/**
 * Ollama's error body, `{"error": "<message>"}`: what the `ollama` clients (ollama-js, the
 * Python client, LangChain's ChatOllama) read into their `ResponseError`. ollama-js reads the
 * message only when the content type is JSON, which Fastify's send of an object gives. The
 * routes under `/api/` (Ollama's own paths) answer every error in this shape — the API-key
 * guard's 401, the rate limiter's 429 (with Retry-After) and the body parser's 400s included —
 * with the status Vega's mapping gives.
 */
export interface OllamaErrorBody {
  error: string;
}

/** The routes that speak Ollama's native wire format. */
export function isOllamaPath(url: string | undefined): boolean {
  return url !== undefined && (url === '/api' || url.startsWith('/api/') || url.startsWith('/api?'));
}

/**
 * The Ollama body for an error already described in Vega's terms (same status). An error Ollama
 * itself reported keeps Ollama's own words, so a client sees what Ollama would have told it.
 */
export function ollamaErrorBody(exception: unknown, described: ErrorBody): OllamaErrorBody {
  if (exception instanceof AppError && exception.backendMessage) return { error: exception.backendMessage };
  return { error: described.message };
}
