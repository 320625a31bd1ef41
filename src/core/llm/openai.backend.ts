import { Agent, request } from 'undici';
import type Dispatcher from 'undici/types/dispatcher';
import type { CancelSignal } from '../../common/async/cancellation';
import {
  AppError,
  BackendError,
  BackendRejectedError,
  BackendUnavailableError,
  ModelNotFoundError,
  UnsupportedFieldError,
} from '../../common/errors/app-errors';
import { backendAgent, BackendOptions } from './backend-agent';
import {
  BackendChatRequest,
  BackendChunk,
  BackendCompletionRequest,
  BackendModel,
  BackendUsage,
  EmbedRequest,
  EmbedResult,
  LlmBackend,
  ModelDetails,
} from './llm-backend';
import { closedBeforeAnswering, closedByPeer, describe, isConnectError } from './ollama.backend';
import { LineTooLongError, lineTooLong } from './ndjson';
import { SseDecoder, SseEvent } from './sse';
import { DispatchTarget, dispatchTargets, openStream, StreamErrors } from './streamed-exchange';

const NAME = 'the OpenAI-compatible server';

/** Generation options that have the same name in Ollama and in the OpenAI API. */
const SAME_NAME = ['temperature', 'top_p', 'presence_penalty', 'frequency_penalty', 'seed', 'stop'] as const;
/**
 * Ollama options outside the OpenAI API that the local servers accept as extensions under
 * these names (llama.cpp server and LM Studio: `top_k`, `repeat_penalty`; vLLM: `top_k`).
 * Anything else Ollama-specific (`num_ctx`, `mirostat`…) is dropped: a server may reject it.
 */
const EXTENSIONS = ['top_k', 'repeat_penalty'] as const;

interface ChatCompletionChunk {
  choices?: { delta?: { content?: string | null }; finish_reason?: string | null }[] | null;
  usage?: { prompt_tokens?: number; completion_tokens?: number } | null;
  error?: unknown;
}

/**
 * Any OpenAI-compatible server (vLLM, llama.cpp server, LM Studio…) over `/chat/completions`
 * (SSE streaming), `/models` and `/embeddings`, with undici: one keep-alive pool per host.
 * `OPENAI_BASE_URL` includes the API prefix (`…/v1`); with several hosts, a request that cannot
 * connect to one moves on to the next, in order. `OPENAI_API_KEY`, when set, is sent as a
 * bearer token and appears in no message.
 */
export class OpenAiBackend extends LlmBackend {
  readonly kind = 'openai';
  private readonly agent: Agent;
  private readonly targets: DispatchTarget[];
  private readonly streamErrors: StreamErrors = {
    isConnectError,
    failed: (error) => new BackendError(`Request to ${NAME} failed: ${describe(error)}`, { cause: error }),
    http: openAiErrorFor,
    unreachable: (lastError) => this.unreachable(lastError),
    closed: (base, error) => closedBeforeAnswering(capital(NAME), base, error),
  };

  constructor(
    private readonly baseUrls: readonly string[],
    private readonly apiKey?: string,
    private readonly options: BackendOptions = {},
  ) {
    super();
    this.agent = backendAgent(options);
    this.targets = dispatchTargets(baseUrls);
  }

  async *chatStream(chat: BackendChatRequest, signal: CancelSignal): AsyncIterable<BackendChunk> {
    const body = JSON.stringify({
      model: chat.model,
      messages: chat.messages,
      ...toOpenAiOptions(chat.options),
      stream: true,
      stream_options: { include_usage: true },
    });
    const { exchange, finish, base } = await openStream(
      this.agent,
      this.targets,
      { path: '/chat/completions', body, headers: this.headers('text/event-stream', true) },
      signal,
      this.streamErrors,
    );
    const events = new SseDecoder(this.options.maxLineBytes);
    const reader = new ChatEventReader();
    try {
      // The events of one network read are handed on as one token, as the Ollama adapter does.
      for await (const chunk of exchange.body()) yield* reader.read(events.push(chunk));
      yield* reader.read(events.end());
      yield* reader.finish();
    } catch (error) {
      if (!exchange.receivedBody && !signal.aborted && isConnectError(error)) throw this.streamErrors.closed(base, error);
      throw this.streamError(error, signal);
    } finally {
      // Stopped early (consumer done, error): the socket is closed; read to the end, it is reused.
      finish();
    }
    if (!reader.sawDone && !signal.aborted) {
      throw new BackendError(`${capital(NAME)} closed the stream before the answer was complete`, { retryable: true });
    }
  }

  /** Refused until this adapter maps `/completions` (a 400 naming `prompt`, never a silent chat). */
  async *completionStream(_request: BackendCompletionRequest, _signal: CancelSignal): AsyncIterable<BackendChunk> {
    throw new UnsupportedFieldError('prompt', 'raw completions are not available on this backend');
  }

  async listModels(signal?: AbortSignal): Promise<BackendModel[]> {
    const json = (await this.getJson('/models', signal)) as { data?: { id?: unknown; created?: unknown }[] };
    if (!Array.isArray(json.data)) throw new BackendError(`${capital(NAME)} answered /models without a data list`);
    return json.data
      .filter((model): model is { id: string; created?: unknown } => typeof model?.id === 'string')
      .map((model) => ({
        name: model.id,
        modifiedAt: typeof model.created === 'number' && model.created > 0 ? new Date(model.created * 1000).toISOString() : undefined,
      }));
  }

  /** There is no version endpoint in the OpenAI API: a listed `/models` proves the server answers. */
  async version(signal?: AbortSignal): Promise<string> {
    await this.listModels(signal);
    return 'openai-compatible';
  }

  async embed(request: EmbedRequest, signal?: AbortSignal): Promise<EmbedResult> {
    const { model, input } = request;
    const body = JSON.stringify({ model, input, dimensions: request.dimensions, encoding_format: 'float' });
    const response = await this.send('/embeddings', { method: 'POST', body }, signal ?? AbortSignal.timeout(60_000));
    const json = (await response.body.json()) as { data?: { index?: number; embedding?: unknown }[]; usage?: { prompt_tokens?: unknown } };
    const data = Array.isArray(json.data) ? json.data : [];
    if (data.length !== input.length || data.some((item) => !Array.isArray(item?.embedding))) {
      throw new BackendError(`${capital(NAME)} returned ${data.length} embeddings for ${input.length} inputs`);
    }
    const embeddings = [...data]
      .map((item, position) => ({ index: typeof item.index === 'number' ? item.index : position, embedding: item.embedding as number[] }))
      .sort((a, b) => a.index - b.index)
      .map((item) => item.embedding);
    const promptTokens = typeof json.usage?.prompt_tokens === 'number' ? json.usage.prompt_tokens : 0;
    return { embeddings, promptTokens };
  }

  /** The OpenAI API says nothing of a model but its id: a listed model has no known capabilities. */
  async showModel(model: string, signal?: AbortSignal): Promise<ModelDetails> {
    const models = await this.listModels(signal);
    if (!models.some((entry) => entry.name === model)) throw new ModelNotFoundError(`The model '${model}' does not exist on ${NAME}`);
    return { name: model };
  }

  async close(): Promise<void> {
    await this.agent.close();
  }

  private async getJson(path: string, signal?: AbortSignal): Promise<unknown> {
    const response = await this.send(path, { method: 'GET' }, signal ?? AbortSignal.timeout(10_000));
    try {
      return await response.body.json();
    } catch (error) {
      throw new BackendError(`${capital(NAME)} answered ${path} with something that is not JSON`, { cause: error });
    }
  }

  /** Sends the request to the first host that accepts a connection; maps HTTP errors. */
  private async send(
    path: string,
    init: { method: 'GET' | 'POST'; body?: string; accept?: string },
    signal: AbortSignal,
  ): Promise<Dispatcher.ResponseData> {
    const headers = this.headers(init.accept ?? 'application/json', init.body !== undefined);
    let lastError: unknown;
    for (const base of this.baseUrls) {
      let response: Dispatcher.ResponseData;
      try {
        response = await request(`${base}${path}`, { method: init.method, body: init.body, headers, dispatcher: this.agent, signal });
      } catch (error) {
        if (signal.aborted) throw signal.reason;
        if (closedByPeer(error)) throw closedBeforeAnswering(capital(NAME), base, error);
        if (!isConnectError(error)) throw new BackendError(`Request to ${NAME} failed: ${describe(error)}`, { cause: error });
        lastError = error;
        continue;
      }
      if (response.statusCode === 200) return response;
      throw await httpError(response);
    }
    throw this.unreachable(lastError);
  }

  private headers(accept: string, withBody: boolean): Record<string, string> {
    const headers: Record<string, string> = { accept };
    if (withBody) headers['content-type'] = 'application/json';
    if (this.apiKey) headers.authorization = `Bearer ${this.apiKey}`;
    return headers;
  }

  private unreachable(lastError: unknown): BackendUnavailableError {
    return new BackendUnavailableError(
      `${capital(NAME)} is unreachable at ${this.baseUrls.join(', ')} (${describe(lastError)}); is it running?`,
      { retryable: true, retryAfterSeconds: 5, cause: lastError },
    );
  }

  private streamError(error: unknown, signal: CancelSignal): unknown {
    if (signal.aborted) return signal.reason;
    if (error instanceof AppError) return error;
    if (error instanceof LineTooLongError) return new BackendError(lineTooLong(capital(NAME), error.limitBytes));
    return new BackendError(`Connection to ${NAME} was lost mid-stream (${describe(error)})`, { retryable: true, cause: error });
  }
}

/** The request fields for Vega's generation options (Ollama names): see SAME_NAME and EXTENSIONS. */
export function toOpenAiOptions(options: Record<string, unknown>): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  for (const name of [...SAME_NAME, ...EXTENSIONS]) if (options[name] !== undefined) fields[name] = options[name];
  if (typeof options.num_predict === 'number' && options.num_predict > 0) fields.max_tokens = options.num_predict;
  return fields;
}

/** Maps an error status like the Ollama adapter does; the message is the server's own. */
async function httpError(response: Dispatcher.ResponseData): Promise<AppError> {
  return openAiErrorFor(response.statusCode, await response.body.text().catch(() => ''));
}

/** The error for an HTTP `status` from the server whose body was `text`. */
function openAiErrorFor(status: number, text: string): AppError {
  const { message: parsed, code } = errorOf(text);
  const message = (parsed ?? text.trim()).slice(0, 500) || `HTTP ${status}`;
  if (status === 404 || code === 'model_not_found') return new ModelNotFoundError(message);
  if (status === 429) return new BackendUnavailableError(`${capital(NAME)} is rate limiting: ${message}`, { retryable: true, retryAfterSeconds: 5 });
  if (status === 503) return new BackendUnavailableError(`${capital(NAME)} is busy: ${message}`, { retryable: true, retryAfterSeconds: 5 });
  if (status >= 500) return new BackendError(`${capital(NAME)} failed (HTTP ${status}): ${message}`, { retryable: true });
  if (status === 401 || status === 403) return new BackendError(`${capital(NAME)} refused Vega's credentials (HTTP ${status}; check OPENAI_API_KEY): ${message}`);
  if (status >= 400) return new BackendRejectedError(`${capital(NAME)} rejected the request: ${message}`);
  return new BackendError(`Unexpected response from ${NAME} (HTTP ${status})`);
}

/**
 * The message and code of an error body: OpenAI's `{"error": {"message", "type", "code"}}`,
 * a plain `{"error": "…"}`, or vLLM's older top-level `{"object": "error", "message", "code"}`.
 */
export function errorOf(text: string): { message?: string; code?: string } {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return {};
  }
  if (!body || typeof body !== 'object') return {};
  const { error, message, code } = body as { error?: unknown; message?: unknown; code?: unknown };
  if (typeof error === 'string') return { message: error };
  if (error && typeof error === 'object') {
    const inner = error as { message?: unknown; code?: unknown; type?: unknown };
    return {
      message: typeof inner.message === 'string' ? inner.message : JSON.stringify(error).slice(0, 500),
      code: typeof inner.code === 'string' ? inner.code : typeof inner.type === 'string' ? inner.type : undefined,
    };
  }
  if (typeof message === 'string') return { message, code: typeof code === 'string' ? code : undefined };
  return {};
}

/**
 * Turns the SSE events of one network read into backend chunks: their text joined into one
 * token, then the final chunk. The answer is complete at `[DONE]`, or once both the
 * `finish_reason` and the usage have come (llama.cpp sends them in one chunk), or at the end
 * of the body after a `finish_reason` (servers that send no `[DONE]`); usage the server never
 * sent counts as 0.
 */
export class ChatEventReader {
  sawDone = false;
  private finishReason?: string;
  private usage?: BackendUsage;

  *read(events: SseEvent[]): Generator<BackendChunk> {
    let text = '';
    for (const event of events) {
      if (this.sawDone) continue;
      if (event.data === '[DONE]') {
        if (text) yield { type: 'token', text };
        text = '';
        yield this.done();
        continue;
      }
      const chunk = parse(event);
      if (event.event === 'error' || chunk.error !== undefined) {
        if (text) yield { type: 'token', text };
        const { message } = errorOf(JSON.stringify(chunk));
        throw new BackendError(`${capital(NAME)} reported an error mid-stream: ${message ?? event.data.slice(0, 500)}`);
      }
      const choice = Array.isArray(chunk.choices) ? chunk.choices[0] : undefined;
      const content = choice?.delta?.content;
      if (typeof content === 'string') text += content;
      if (typeof choice?.finish_reason === 'string') this.finishReason = choice.finish_reason;
      if (chunk.usage && typeof chunk.usage === 'object') {
        this.usage = { promptTokens: chunk.usage.prompt_tokens ?? 0, completionTokens: chunk.usage.completion_tokens ?? 0 };
      }
      if (this.finishReason !== undefined && this.usage !== undefined) {
        if (text) yield { type: 'token', text };
        text = '';
        yield this.done();
      }
    }
    if (text) yield { type: 'token', text };
  }

  /** At the end of the body: a finished answer without `[DONE]` is complete. */
  *finish(): Generator<BackendChunk> {
    if (!this.sawDone && this.finishReason !== undefined) yield this.done();
  }

  private done(): BackendChunk {
    this.sawDone = true;
    return { type: 'done', usage: this.usage ?? { promptTokens: 0, completionTokens: 0 }, doneReason: this.finishReason };
  }
}

function parse(event: SseEvent): ChatCompletionChunk {
  try {
    const value = JSON.parse(event.data) as unknown;
    if (value && typeof value === 'object') return value as ChatCompletionChunk;
  } catch {
    if (event.event === 'error') return { error: event.data };
  }
  throw new BackendError(`Malformed event from ${NAME}: ${event.data.slice(0, 120)}`);
}

function capital(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
