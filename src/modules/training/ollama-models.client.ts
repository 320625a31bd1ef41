import type { Readable } from 'node:stream';
import { Agent, request } from 'undici';
import type Dispatcher from 'undici/types/dispatcher';
import { AppError, BackendError, BackendUnavailableError } from '../../common/errors/app-errors';
import { MalformedLineError, ndjson } from '../../core/llm/transport/ndjson';
import { ollamaHttpError } from '../../core/llm/backends/ollama/ollama.backend';
import { isConnectError } from '../../core/llm/transport/connect-errors';
import { describeNetworkError } from '../../core/outbound/network-errors';

/** `POST /api/create` as Vega uses it: a base model plus adapter blobs, a system prompt and parameters. */
export interface CreateModelRequest {
  model: string;
  from: string;
  /** File name → `sha256:<hex>` of an uploaded blob. */
  adapters: Record<string, string>;
  system?: string;
  parameters?: Record<string, unknown>;
}

type Method = 'GET' | 'HEAD' | 'POST' | 'DELETE';

/** A request passed on to Ollama as it came (the model-management routes of Vega's Ollama API). */
export interface ForwardRequest {
  method: Method;
  path: string;
  /**
   * A JSON text, sent again to the next host when one refuses the connection; or a stream (a
   * blob upload), sent once, to the first host that answers.
   */
  body?: string | Readable;
  headers?: Record<string, string>;
  signal: AbortSignal;
}

/** How long to wait for a connection, and for Ollama's answer in `vega train register`. */
export interface ModelsClientTimeouts {
  /** 0: no limit (the relay, where the client decides how long to wait). */
  answerMs: number;
}

/**
 * Ollama's model-management API (show, blobs, create, tags) for `vega train register`, and the
 * relay of the model-management routes of Vega's Ollama API (`forward`). The chat path
 * (`OllamaBackend`) never needs it. With several `OLLAMA_URL` hosts, the first one
 * that accepts a connection is used for every step, so the blobs, the new model and the
 * listing are all on the same server.
 */
export class OllamaModelsClient {
  private readonly agent: Agent;
  private pinned?: string;

  constructor(
    private readonly baseUrls: readonly string[],
    // Ollama answers a blob upload once it has read and hashed it, and may think for minutes
    // between two status lines while it converts an adapter.
    timeouts: ModelsClientTimeouts = { answerMs: 600_000 },
  ) {
    this.agent = new Agent({ connect: { timeout: 5_000 }, headersTimeout: timeouts.answerMs, bodyTimeout: timeouts.answerMs });
  }

  /** The server in use (after the first request). */
  get host(): string {
    return this.pinned ?? this.baseUrls[0];
  }

  /** Resolves when `model` exists; `ModelNotFoundError` (Ollama's 404) when not. */
  async showModel(model: string): Promise<void> {
    const response = await this.send('POST', '/api/show', { body: JSON.stringify({ model }), json: true });
    await response.body.dump();
  }

  async hasBlob(digest: string): Promise<boolean> {
    const response = await this.send('HEAD', `/api/blobs/${digest}`, { allow: [404] });
    await response.body.dump();
    return response.statusCode === 200;
  }

  /** Uploads the bytes of `digest` (Ollama hashes them and refuses a mismatch with 400). */
  async pushBlob(digest: string, body: Readable, size: number): Promise<void> {
    const response = await this.send('POST', `/api/blobs/${digest}`, { body, headers: { 'content-length': String(size), 'content-type': 'application/octet-stream' } });
    await response.body.dump();
  }

  /** Creates the model, yielding Ollama's status lines as they arrive; throws on an `{error}` line. */
  async *createModel(create: CreateModelRequest): AsyncGenerator<string> {
    const response = await this.send('POST', '/api/create', { body: JSON.stringify({ ...create, stream: true }), json: true });
    let success = false;
    try {
      for await (const value of ndjson(response.body)) {
        const line = value as { status?: unknown; error?: unknown };
        if (typeof line.error === 'string') throw new BackendError(`Ollama could not create ${create.model}: ${line.error}`);
        if (typeof line.status !== 'string') continue;
        if (line.status === 'success') success = true;
        yield line.status;
      }
    } catch (error) {
      if (error instanceof AppError) throw error;
      if (error instanceof MalformedLineError) throw new BackendError(error.message);
      throw new BackendError(`the connection to Ollama was lost while it created ${create.model} (${describeNetworkError(error)})`, { cause: error });
    } finally {
      if (!response.body.readableEnded && !response.body.destroyed) response.body.destroy();
    }
    if (!success) throw new BackendError(`Ollama ended the create stream of ${create.model} without "success"`);
  }

  /** The names `/api/tags` lists (`name:tag`). */
  async listModelNames(): Promise<string[]> {
    const response = await this.send('GET', '/api/tags');
    const json = (await response.body.json()) as { models?: { name?: unknown }[] };
    return (json.models ?? []).map((model) => model.name).filter((name): name is string => typeof name === 'string');
  }

  async close(): Promise<void> {
    await this.agent.close();
  }

  /** Nest calls this on shutdown: free the keep-alive connections. */
  async onModuleDestroy(): Promise<void> {
    await this.close();
  }

  /**
   * Sends `forward` to the first host that answers (tried in order every time, nothing pinned)
   * and hands back Ollama's answer as it is, whatever its status. A stream body cannot be sent
   * twice, so with several hosts the first one that answers `HEAD /` gets it.
   */
  async forward(forward: ForwardRequest): Promise<Dispatcher.ResponseData> {
    const { method, path, body, headers, signal } = forward;
    const streamed = body !== undefined && typeof body !== 'string';
    const hosts = streamed && this.baseUrls.length > 1 ? [(await this.dispatch(this.baseUrls, 'HEAD', '/', { signal })).base] : this.baseUrls;
    return (await this.dispatch(hosts, method, path, { body, headers, signal })).response;
  }

  private async send(method: Method, path: string, init: { body?: string | Readable; json?: boolean; headers?: Record<string, string>; allow?: number[] } = {}): Promise<Dispatcher.ResponseData> {
    const headers = { ...(init.json ? { 'content-type': 'application/json' } : {}), ...init.headers };
    const { response, base } = await this.dispatch(this.pinned ? [this.pinned] : this.baseUrls, method, path, { body: init.body, headers });
    this.pinned = base;
    if ((response.statusCode >= 200 && response.statusCode < 300) || init.allow?.includes(response.statusCode)) return response;
    throw await ollamaHttpError(response);
  }

  /** The first of `hosts` that accepts the connection answers; any status. */
  private async dispatch(
    hosts: readonly string[],
    method: Method,
    path: string,
    init: { body?: string | Readable; headers?: Record<string, string>; signal?: AbortSignal },
  ): Promise<{ response: Dispatcher.ResponseData; base: string }> {
    let lastError: unknown;
    for (const base of hosts) {
      try {
        const response = await request(`${base}${path}`, { method, body: init.body, headers: init.headers, dispatcher: this.agent, signal: init.signal });
        return { response, base };
      } catch (error) {
        if (init.signal?.aborted) throw init.signal.reason;
        if (!isConnectError(error)) throw new BackendError(`Ollama request ${method} ${path} failed: ${describeNetworkError(error)}`, { cause: error });
        lastError = error;
      }
    }
    throw new BackendUnavailableError(`Ollama is unreachable at ${hosts.join(', ')} (${describeNetworkError(lastError)}); is it running?`, {
      retryAfterSeconds: 5,
      cause: lastError,
    });
  }
}
