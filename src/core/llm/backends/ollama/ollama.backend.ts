import { Agent, request } from 'undici';
import type Dispatcher from 'undici/types/dispatcher';
import type { CancelSignal } from '../../../../common/async/cancellation';
import {
  AppError,
  BackendError,
  BackendBusyError,
  BackendRejectedError,
  BackendUnreachableError,
  ModelNotFoundError,
} from '../../../../common/errors/app-errors';
import { backendAgent, BackendOptions } from '../../transport/backend-agent';
import { DispatchTarget, dispatchTarget, openStream, StreamErrors } from '../../transport/streamed-exchange';
import {
  BackendChatRequest,
  BackendChunk,
  BackendCompletionRequest,
  BackendModel,
  EmbedRequest,
  EmbedResult,
  LlmBackend,
  ModelCapability,
  ModelDetails,
  OllamaJson,
} from '../../llm-backend';
import { closedBeforeAnswering, closedByPeer, isConnectError } from '../../transport/connect-errors';
import { describeNetworkError } from '../../../outbound/network-errors';
import { LineTooLongError, lineTooLong, MalformedLineError, NdjsonDecoder } from '../../transport/ndjson';
import { LineReaderOptions, OllamaLine, OllamaLineReader, ollamaChatBody, ollamaGenerateBody } from './ollama-wire';

/** A JSON string's body: no quote, backslash or control character unescaped. */
const JSON_CHARS = String.raw`[^"\\\u0000-\u001f]*(?:\\.[^"\\\u0000-\u001f]*)*`;
/**
 * A token line exactly as Ollama writes it (Go's encoding/json: fixed field order, no spaces):
 * `{"model":"…","created_at":"…","message":{"role":"assistant","content":"…"},"done":false}`.
 */
const TOKEN_LINE = new RegExp(
  `^\\{"model":"${JSON_CHARS}","created_at":"${JSON_CHARS}","message":\\{"role":"assistant","content":"(${JSON_CHARS})"\\},"done":false\\}$`,
);

/**
 * The content of an Ollama token line, read without building the line's object (most lines of
 * a stream are token lines, and `JSON.parse` of each was the biggest single cost of relaying
 * them). A line of any other shape — a server that orders or spaces its fields differently,
 * extra fields such as `thinking`, the final line, an error — returns `undefined` and is parsed
 * in full. Escapes are decoded by `JSON.parse`, so they are read exactly as it would.
 */
export function ollamaTokenLine(line: string): OllamaLine | undefined {
  const match = TOKEN_LINE.exec(line);
  if (!match) return undefined;
  const raw = match[1];
  if (!raw.includes('\\')) return { message: { content: raw } };
  try {
    return { message: { content: JSON.parse(`"${raw}"`) as string } };
  } catch {
    return undefined; // a bad escape: the full parse reports the line
  }
}


/** A host that refused the connection (or could not be reached), for listings that merge several hosts. */
export class HostDownError extends Error {
  constructor(
    readonly base: string,
    cause: unknown,
  ) {
    super(`Ollama at ${base} is unreachable`, { cause });
  }
}

/**
 * One Ollama server over its REST API (`/api/chat`, NDJSON streaming) with undici: one
 * keep-alive connection pool. Several servers are several targets of the routing pool
 * (`core/llm/routing`), which picks one per attempt.
 */
export class OllamaBackend extends LlmBackend {
  readonly kind = 'ollama';
  private readonly agent: Agent;
  private readonly target: DispatchTarget;
  private readonly streamErrors: StreamErrors = {
    isConnectError,
    failed: (error) => new BackendError(`Ollama request failed: ${describeNetworkError(error)}`, { cause: error }),
    http: ollamaErrorFor,
    unreachable: (error) => this.unreachable(error),
    closed: (base, error) => closedBeforeAnswering('Ollama', base, error),
  };

  constructor(
    readonly baseUrl: string,
    private readonly options: BackendOptions = {},
  ) {
    super();
    this.agent = backendAgent(options);
    this.target = dispatchTarget(baseUrl);
  }

  chatStream(chat: BackendChatRequest, signal: CancelSignal): AsyncIterable<BackendChunk> {
    // Mapped when iterated, before anything is sent: a tool_choice Ollama cannot honour is refused up front.
    return lazily(() => {
      const { body, forced } = ollamaChatBody(chat);
      return this.stream('/api/chat', JSON.stringify(body), { forced, parallelToolCalls: chat.parallelToolCalls }, signal);
    });
  }

  /** A raw completion through `/api/generate` (with `suffix`, fill-in-the-middle on models that can `insert`). */
  completionStream(request: BackendCompletionRequest, signal: CancelSignal): AsyncIterable<BackendChunk> {
    return this.stream('/api/generate', JSON.stringify(ollamaGenerateBody(request)), {}, signal);
  }

  private async *stream(path: string, body: string, reading: LineReaderOptions, signal: CancelSignal): AsyncIterable<BackendChunk> {
    const { exchange, finish, base } = await openStream(
      this.agent,
      this.target,
      { path, body, headers: { 'content-type': 'application/json' } },
      signal,
      this.streamErrors,
    );
    const lines = new NdjsonDecoder(ollamaTokenLine, this.options.maxLineBytes);
    const reader = new OllamaLineReader(reading);
    try {
      for await (const chunk of exchange.body()) yield* reader.read(lines.push(chunk));
      yield* reader.read(lines.end());
    } catch (error) {
      if (!exchange.receivedBody && !signal.aborted && isConnectError(error)) throw this.streamErrors.closed(base, error);
      throw this.streamError(error, signal);
    } finally {
      // Stopped early (consumer done, error): the socket is closed; read to the end, it is reused.
      finish();
    }
    if (!reader.sawDone && !signal.aborted) {
      throw new BackendError('Ollama closed the stream before the answer was complete', { retryable: true });
    }
  }

  async listModels(signal?: AbortSignal): Promise<BackendModel[]> {
    const json = (await this.getJson('/api/tags', signal)) as { models?: OllamaTagsEntry[] };
    return (json.models ?? []).map(ollamaModel);
  }

  async version(signal?: AbortSignal): Promise<string> {
    const json = (await this.getJson('/api/version', signal)) as { version?: string };
    return json.version ?? 'unknown';
  }

  async embed(request: EmbedRequest, signal?: AbortSignal): Promise<EmbedResult> {
    const { model, input } = request;
    const body = JSON.stringify({
      model,
      input,
      dimensions: request.dimensions,
      truncate: request.truncate,
      keep_alive: request.keepAlive,
      options: request.options,
    });
    const response = await this.send('/api/embed', { method: 'POST', body }, signal ?? AbortSignal.timeout(60_000));
    const json = (await response.body.json()) as { embeddings?: unknown; prompt_eval_count?: unknown; total_duration?: unknown; load_duration?: unknown };
    const embeddings = json.embeddings;
    if (!Array.isArray(embeddings) || embeddings.length !== input.length) {
      throw new BackendError(`Ollama returned ${Array.isArray(embeddings) ? embeddings.length : 'no'} embeddings for ${input.length} inputs`);
    }
    const promptTokens = typeof json.prompt_eval_count === 'number' ? json.prompt_eval_count : 0;
    const timings = { totalNs: nanoseconds(json.total_duration), loadNs: nanoseconds(json.load_duration) };
    return { embeddings: embeddings as number[][], promptTokens, timings };
  }

  /** `/api/show`, and `/api/ps` for the context of the model's runner when it is loaded (a failure there only leaves it out). */
  async showModel(model: string, signal?: AbortSignal): Promise<ModelDetails> {
    const body = JSON.stringify({ model });
    const within = signal ?? AbortSignal.timeout(10_000);
    const running = this.getJson('/api/ps', within).catch(() => undefined);
    const response = await this.send('/api/show', { method: 'POST', body }, within);
    const json = (await response.body.json()) as { capabilities?: unknown; model_info?: unknown; parameters?: unknown };
    const details = showDetails(model, json);
    const loadedNumCtx = loadedContext(await running, model);
    return loadedNumCtx === undefined ? details : { ...details, loadedNumCtx };
  }

  /**
   * One of Ollama's own listings (`/api/tags`, `/api/ps`, `/api/show`) as the server wrote it, for
   * Vega's Ollama routes to merge and relay; `HostDownError` when the server cannot be reached.
   */
  async hostJson(path: string, init: { method: 'GET' | 'POST'; body?: string }, signal: AbortSignal): Promise<OllamaJson> {
    const response = await this.sendTo(path, init, signal);
    const value: unknown = await response.body.json().catch(() => undefined);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new BackendError(`Ollama at ${this.baseUrl} answered ${path} with something that is not a JSON object`);
    }
    return value as OllamaJson;
  }

  async close(): Promise<void> {
    await this.agent.close();
  }

  private async getJson(path: string, signal?: AbortSignal): Promise<unknown> {
    const response = await this.send(path, { method: 'GET' }, signal ?? AbortSignal.timeout(10_000));
    return response.body.json();
  }

  /** Sends the request; maps HTTP errors, and a server that cannot be reached to `BackendUnreachableError`. */
  private async send(path: string, init: { method: 'GET' | 'POST'; body?: string }, signal: AbortSignal): Promise<Dispatcher.ResponseData> {
    try {
      return await this.sendTo(path, init, signal);
    } catch (error) {
      throw error instanceof HostDownError ? this.unreachable(error.cause) : error;
    }
  }

  /** The request's 200 response, Ollama's error mapped, or `HostDownError` when the server cannot be reached. */
  private async sendTo(path: string, init: { method: 'GET' | 'POST'; body?: string }, signal: AbortSignal): Promise<Dispatcher.ResponseData> {
    let response: Dispatcher.ResponseData;
    try {
      response = await request(`${this.baseUrl}${path}`, {
        method: init.method,
        body: init.body,
        headers: init.body === undefined ? undefined : { 'content-type': 'application/json' },
        dispatcher: this.agent,
        signal,
      });
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      if (closedByPeer(error)) throw closedBeforeAnswering('Ollama', this.baseUrl, error);
      if (!isConnectError(error)) throw new BackendError(`Ollama request failed: ${describeNetworkError(error)}`, { cause: error });
      throw new HostDownError(this.baseUrl, error);
    }
    if (response.statusCode === 200) return response;
    throw await ollamaHttpError(response);
  }

  private unreachable(error: unknown): BackendUnreachableError {
    return ollamaUnreachable([this.baseUrl], error);
  }

  private streamError(error: unknown, signal: CancelSignal): unknown {
    if (signal.aborted) return signal.reason;
    if (error instanceof AppError) return error;
    if (error instanceof LineTooLongError) return new BackendError(lineTooLong('Ollama', error.limitBytes));
    if (error instanceof MalformedLineError) return new BackendError(error.message);
    return new BackendError(`Connection to Ollama was lost mid-stream (${describeNetworkError(error)})`, {
      retryable: true,
      cause: error,
    });
  }
}

const nanoseconds = (value: unknown): number | undefined => (typeof value === 'number' && value >= 0 ? value : undefined);

/** An iterable that builds its source when iterated (errors then surface where a generator's would), without a generator hop per chunk. */
function lazily<T>(open: () => AsyncIterable<T>): AsyncIterable<T> {
  return { [Symbol.asyncIterator]: () => open()[Symbol.asyncIterator]() };
}

const CAPABILITIES: ReadonlySet<string> = new Set<ModelCapability>(['completion', 'tools', 'insert', 'vision', 'embedding', 'thinking', 'image', 'audio']);

/**
 * What `/api/show` says of a model: its capabilities, the context length it was trained for
 * (`model_info["<architecture>.context_length"]`) and the `num_ctx` its Modelfile sets, if any.
 */
export function showDetails(name: string, json: { capabilities?: unknown; model_info?: unknown; parameters?: unknown }): ModelDetails {
  const details: ModelDetails = { name };
  if (Array.isArray(json.capabilities)) {
    details.capabilities = json.capabilities.filter((value): value is ModelCapability => typeof value === 'string' && CAPABILITIES.has(value));
  }
  if (json.model_info && typeof json.model_info === 'object') {
    const info = json.model_info as Record<string, unknown>;
    const architecture = info['general.architecture'];
    const length = typeof architecture === 'string' ? info[`${architecture}.context_length`] : undefined;
    if (typeof length === 'number' && length > 0) details.contextLength = length;
  }
  if (typeof json.parameters === 'string') {
    const numCtx = /^num_ctx\s+(\d+)\s*$/m.exec(json.parameters);
    if (numCtx) details.numCtx = Number(numCtx[1]);
  }
  return details;
}

/** The context `/api/ps` lists for the loaded runner of `model` (`mistral` also matches `mistral:latest`). */
export function loadedContext(json: unknown, model: string): number | undefined {
  const models = (json as { models?: unknown } | undefined)?.models;
  if (!Array.isArray(models)) return undefined;
  const names = model.includes(':') ? [model] : [model, `${model}:latest`];
  const entry = models.find((item) => names.includes((item as { name?: unknown } | null)?.name as string)) as { context_length?: unknown } | undefined;
  const length = entry?.context_length;
  return typeof length === 'number' && Number.isInteger(length) && length > 0 ? length : undefined;
}

/** The error for an Ollama answer that is not 200, with Ollama's own message (`{"error"}` body). */
export async function ollamaHttpError(response: Dispatcher.ResponseData): Promise<AppError> {
  return ollamaErrorFor(response.statusCode, await response.body.text().catch(() => ''));
}

/** The error for an HTTP `status` from Ollama whose body was `text`. */
export function ollamaErrorFor(status: number, text: string): AppError {
  let message = text.trim();
  try {
    const parsed = JSON.parse(text) as { error?: unknown };
    if (typeof parsed.error === 'string') message = parsed.error;
  } catch {
    // not JSON: keep the text
  }
  message = message.slice(0, 500) || `HTTP ${status}`;
  const own = { backendMessage: message };
  if (status === 404) return new ModelNotFoundError(message, own);
  if (status === 429) return new BackendBusyError(`Ollama is rate limiting: ${message}`, { retryable: true, retryAfterSeconds: 5 });
  if (status === 503) return new BackendBusyError(`Ollama is busy: ${message}`, { retryable: true, retryAfterSeconds: 5 });
  if (status >= 500) return new BackendError(`Ollama error (HTTP ${status}): ${message}`, { retryable: true, ...own });
  if (status >= 400) return new BackendRejectedError(`Ollama rejected the request: ${message}`, own);
  return new BackendError(`Unexpected response from Ollama (HTTP ${status})`);
}

/** No Ollama server at `bases` could be reached; `error` is the last one's. */
/** One model of Ollama's `/api/tags`, the fields Vega reads. */
export interface OllamaTagsEntry {
  name: string;
  size?: number;
  modified_at?: string;
  details?: Record<string, string>;
}

/** An `/api/tags` entry as the backend-neutral model. */
export function ollamaModel(model: OllamaTagsEntry): BackendModel {
  return {
    name: model.name,
    size: model.size,
    modifiedAt: model.modified_at,
    family: model.details?.family,
    parameterSize: model.details?.parameter_size,
    quantization: model.details?.quantization_level,
  };
}

export function ollamaUnreachable(bases: readonly string[], error: unknown): BackendUnreachableError {
  return new BackendUnreachableError(`Ollama is unreachable at ${bases.join(', ')} (${describeNetworkError(error)}); is it running?`, {
    retryable: true,
    retryAfterSeconds: 5,
    cause: error,
  });
}
