import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import { STATUS_CODES } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { anthropicErrorBody, anthropicStatus, isAnthropicPath } from './anthropic-error';
import { AppError } from './app-errors';
import { isOllamaPath, ollamaErrorBody } from './ollama-error';
import { isOpenAiPath, openAiErrorBody } from './openai-error';

export interface ErrorBody {
  statusCode: number;
  error: string;
  message: string;
  /** The app error's stable code (`budget_exceeded`, `context_length_exceeded`…), when it has one. */
  code?: string;
}

/**
 * Turns any error into the `{ statusCode, error, message }` body of SPEC §3; `bodyLimit` is the
 * request's body limit in bytes, for the message of a body over it.
 */
export function describeError(exception: unknown, bodyLimit?: number): { body: ErrorBody; retryAfterSeconds?: number } {
  if (exception instanceof AppError) {
    const body = errorBody(exception.status, exception.message);
    return { body: exception.code ? { ...body, code: exception.code } : body, retryAfterSeconds: exception.retryAfterSeconds };
  }
  // Nest hands Fastify's own 4xx errors (body too large, empty body) over as an HttpException with the error as its cause.
  if (exception instanceof HttpException && isFastifyError(exception.cause)) {
    return { body: errorBody(exception.getStatus(), fastifyMessage(exception.cause, bodyLimit)) };
  }
  if (exception instanceof HttpException) {
    const response = exception.getResponse();
    const message =
      typeof response === 'string'
        ? response
        : joinMessage((response as { message?: unknown }).message) ?? exception.message;
    return { body: errorBody(exception.getStatus(), message) };
  }
  // Errors raised by Fastify itself (body too large, malformed JSON, wrong content type).
  const statusCode = (exception as { statusCode?: unknown } | null)?.statusCode;
  if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) {
    return { body: errorBody(statusCode, fastifyMessage(exception as Error & { code?: string }, bodyLimit)) };
  }
  return { body: errorBody(500, 'Internal server error') };
}

function errorBody(statusCode: number, message: string): ErrorBody {
  // Fastify reports a content type without a parser in several shapes; say what to do instead.
  if (statusCode === 415) message = 'Unsupported content type: send application/json';
  return { statusCode, error: STATUS_CODES[statusCode] ?? 'Error', message };
}

function joinMessage(message: unknown): string | undefined {
  if (Array.isArray(message)) return message.join('; ');
  return typeof message === 'string' ? message : undefined;
}

function isFastifyError(error: unknown): error is Error & { code: string } {
  const code = (error as { code?: unknown } | null)?.code;
  return error instanceof Error && typeof code === 'string' && code.startsWith('FST_');
}

function fastifyMessage(error: Error & { code?: string }, bodyLimit: number | undefined): string {
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return bodyLimit ? `Request body is larger than ${bytes(bodyLimit)}` : 'Request body is too large';
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return 'Request body is empty: send a JSON object';
    default:
      return error.message.startsWith('Unexpected') || error.message.includes('JSON')
        ? `Malformed JSON body: ${error.message}`
        : error.message;
  }
}

/** `65536` → `64 KiB (65536 bytes)`. */
function bytes(count: number): string {
  const unit = count % 1048576 === 0 ? `${count / 1048576} MiB` : count % 1024 === 0 ? `${count / 1024} KiB` : undefined;
  return unit ? `${unit} (${count} bytes)` : `${count} bytes`;
}

/**
 * The one exception filter. Once a response has started (an SSE stream), it does nothing:
 * the stream reports its own errors as `event: error`. Under `/v1/messages` (Anthropic's
 * Messages API) the same message goes out in Anthropic's error shape (an unavailable backend as
 * its 529), under the rest of `/v1/` (the OpenAI-compatible routes) in OpenAI's, under `/api/`
 * (Ollama's native routes) in Ollama's `{"error": "…"}`.
 */
@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  private readonly logger = new Logger('HTTP');

  catch(exception: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    const request = host.switchToHttp().getRequest<FastifyRequest | undefined>();
    const { body, retryAfterSeconds } = describeError(exception, request?.routeOptions?.bodyLimit);
    if (body.statusCode >= 500 && !(exception instanceof AppError)) {
      this.logger.error(exception instanceof Error ? (exception.stack ?? exception.message) : String(exception));
    }
    if (reply.sent || reply.raw.headersSent) return;
    if (retryAfterSeconds !== undefined) reply.header('Retry-After', String(Math.max(1, Math.ceil(retryAfterSeconds))));
    const status = isAnthropicPath(request?.url) ? anthropicStatus(exception, body.statusCode) : body.statusCode;
    void reply.status(status).send(this.dialect(request?.url, exception, body));
  }

  private dialect(url: string | undefined, exception: unknown, body: ErrorBody): unknown {
    // Before the OpenAI branch: `/v1/messages` is under `/v1/` but speaks Anthropic's dialect.
    if (isAnthropicPath(url)) return anthropicErrorBody(exception, body);
    if (isOpenAiPath(url)) return openAiErrorBody(exception, body);
    if (isOllamaPath(url)) return ollamaErrorBody(exception, body);
    return body;
  }
}
