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
  UnsupportedFieldError,
} from '../../../../common/errors/app-errors';
import { backendAgent, BackendOptions } from '../../transport/backend-agent';
import {
  BackendChatRequest,
  BackendChunk,
  BackendCompletionRequest,
  BackendModel,
  EmbedRequest,
  EmbedResult,
  LlmBackend,
  ModelDetails,
} from '../../llm-backend';
import { closedBeforeAnswering, closedByPeer, isConnectError } from '../../transport/connect-errors';
import { describeNetworkError } from '../../../outbound/network-errors';
import { LineTooLongError, lineTooLong } from '../../transport/ndjson';
import { chatCompletionBody, completionBody } from './openai-request';
import { ChatEventReader, CompletionEventReader, errorOf, SERVER } from './openai-stream';
import { SseDecoder } from '../../transport/sse';
import { DispatchTarget, dispatchTarget, openStream, StreamErrors } from '../../transport/streamed-exchange';

const NAME = SERVER;

/**
 * Any OpenAI-compatible server (vLLM, llama.cpp server, LM Studio…) over `/chat/completions`
 * and `/completions` (SSE streaming), `/models` and `/embeddings`, with undici: one keep-alive
 * pool per host. The request bodies are built in `openai-request.ts`, the streamed answers read
 * in `openai-stream.ts`.
 * The base URL includes the API prefix (`…/v1`); several servers are several targets of the
 * routing pool. The key (`OPENAI_API_KEY`, or the target's own), when set, is sent as a bearer
 * token and appears in no message.
 */
export class OpenAiBackend extends LlmBackend {
  readonly kind = 'openai';
  private readonly agent: Agent;
  private readonly target: DispatchTarget;
  private readonly streamErrors: StreamErrors = {
    isConnectError,
    failed: (error) => new BackendError(`Request to ${NAME} failed: ${describeNetworkError(error)}`, { cause: error }),
    http: openAiErrorFor,
    unreachable: (error) => this.unreachable(error),
    closed: (base, error) => closedBeforeAnswering(capital(NAME), base, error),
  };

  constructor(
    readonly baseUrl: string,
    private readonly apiKey?: string,
    private readonly options: BackendOptions = {},
  ) {
    super();
    this.agent = backendAgent(options);
    this.target = dispatchTarget(baseUrl);
  }

  /** `POST /chat/completions`: every field of the exchange model, mapped as `openai-request.ts` says. */
  async *chatStream(chat: BackendChatRequest, signal: CancelSignal): AsyncIterable<BackendChunk> {
    // A generator, so a field refused while mapping fails the iteration like any backend error.
    yield* this.streamFrom('/chat/completions', chatCompletionBody(chat), new ChatEventReader(), signal);
  }

  /** `POST /completions`: a raw prompt (and `suffix`), the legacy API's answer. */
  async *completionStream(completion: BackendCompletionRequest, signal: CancelSignal): AsyncIterable<BackendChunk> {
    yield* this.streamFrom('/completions', completionBody(completion), new CompletionEventReader(), signal);
  }

  private async *streamFrom(path: string, request: Record<string, unknown>, reader: ChatEventReader, signal: CancelSignal): AsyncIterable<BackendChunk> {
    const body = JSON.stringify(request);
    const { exchange, finish, base } = await openStream(
      this.agent,
      this.target,
      { path, body, headers: this.headers('text/event-stream', true) },
      signal,
      this.streamErrors,
    );
    const events = new SseDecoder(this.options.maxLineBytes);
    try {
      // The events of one network read are handed on together, as the Ollama adapter does.
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

  /** Sends the request; maps HTTP errors, and a server that cannot be reached to `BackendUnreachableError`. */
  private async send(
    path: string,
    init: { method: 'GET' | 'POST'; body?: string; accept?: string },
    signal: AbortSignal,
  ): Promise<Dispatcher.ResponseData> {
    const headers = this.headers(init.accept ?? 'application/json', init.body !== undefined);
    let response: Dispatcher.ResponseData;
    try {
      response = await request(`${this.baseUrl}${path}`, { method: init.method, body: init.body, headers, dispatcher: this.agent, signal });
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      if (closedByPeer(error)) throw closedBeforeAnswering(capital(NAME), this.baseUrl, error);
      if (!isConnectError(error)) throw new BackendError(`Request to ${NAME} failed: ${describeNetworkError(error)}`, { cause: error });
      throw this.unreachable(error);
    }
    if (response.statusCode === 200) return response;
    throw await httpError(response);
  }

  private headers(accept: string, withBody: boolean): Record<string, string> {
    const headers: Record<string, string> = { accept };
    if (withBody) headers['content-type'] = 'application/json';
    if (this.apiKey) headers.authorization = `Bearer ${this.apiKey}`;
    return headers;
  }

  private unreachable(error: unknown): BackendUnreachableError {
    return new BackendUnreachableError(`${capital(NAME)} is unreachable at ${this.baseUrl} (${describeNetworkError(error)}); is it running?`, {
      retryable: true,
      retryAfterSeconds: 5,
      cause: error,
    });
  }

  private streamError(error: unknown, signal: CancelSignal): unknown {
    if (signal.aborted) return signal.reason;
    if (error instanceof AppError) return error;
    if (error instanceof LineTooLongError) return new BackendError(lineTooLong(capital(NAME), error.limitBytes));
    return new BackendError(`Connection to ${NAME} was lost mid-stream (${describeNetworkError(error)})`, { retryable: true, cause: error });
  }
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
  if (status === 429) return new BackendBusyError(`${capital(NAME)} is rate limiting: ${message}`, { retryable: true, retryAfterSeconds: 5 });
  if (status === 503) return new BackendBusyError(`${capital(NAME)} is busy: ${message}`, { retryable: true, retryAfterSeconds: 5 });
  if (status >= 500) return new BackendError(`${capital(NAME)} failed (HTTP ${status}): ${message}`, { retryable: true });
  if (status === 401 || status === 403) return new BackendError(`${capital(NAME)} refused Vega's credentials (HTTP ${status}; check OPENAI_API_KEY): ${message}`);
  if (status >= 400) return new BackendRejectedError(`${capital(NAME)} rejected the request: ${message}`);
  return new BackendError(`Unexpected response from ${NAME} (HTTP ${status})`);
}

function capital(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
