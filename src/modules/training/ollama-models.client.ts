import type { Readable } from 'node:stream';
import { Agent, request } from 'undici';
import type Dispatcher from 'undici/types/dispatcher';
import { AppError, BackendError, BackendUnavailableError } from '../../common/errors/app-errors';
import { MalformedLineError, ndjson } from '../../core/llm/ndjson';
import { describe as describeNetworkError, isConnectError, ollamaHttpError } from '../../core/llm/ollama.backend';

/** `POST /api/create` as Vega uses it: a base model plus adapter blobs, a system prompt and parameters. */
export interface CreateModelRequest {
  model: string;
  from: string;
  /** File name → `sha256:<hex>` of an uploaded blob. */
  adapters: Record<string, string>;
  system?: string;
  parameters?: Record<string, unknown>;
}

type Method = 'GET' | 'HEAD' | 'POST';

/**
 * Ollama's model-management API (show, blobs, create, tags) for `vega train register`. The
 * chat path (`OllamaBackend`) never needs it. With several `OLLAMA_URL` hosts, the first one
 * that accepts a connection is used for every step, so the blobs, the new model and the
 * listing are all on the same server.
 */
export class OllamaModelsClient {
  private readonly agent = new Agent({
    connect: { timeout: 5_000 },
    // Ollama answers a blob upload once it has read and hashed it, and may think for minutes
    // between two status lines while it converts an adapter.
    headersTimeout: 600_000,
    bodyTimeout: 600_000,
  });
  private pinned?: string;

  constructor(private readonly baseUrls: readonly string[]) {}

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

  private async send(method: Method, path: string, init: { body?: string | Readable; json?: boolean; headers?: Record<string, string>; allow?: number[] } = {}): Promise<Dispatcher.ResponseData> {
    const hosts = this.pinned ? [this.pinned] : this.baseUrls;
    let lastError: unknown;
    for (const base of hosts) {
      let response: Dispatcher.ResponseData;
      try {
        response = await request(`${base}${path}`, {
          method,
          body: init.body,
          headers: { ...(init.json ? { 'content-type': 'application/json' } : {}), ...init.headers },
          dispatcher: this.agent,
        });
      } catch (error) {
        if (!isConnectError(error)) throw new BackendError(`Ollama request ${method} ${path} failed: ${describeNetworkError(error)}`, { cause: error });
        lastError = error;
        continue;
      }
      this.pinned = base;
      if ((response.statusCode >= 200 && response.statusCode < 300) || init.allow?.includes(response.statusCode)) return response;
      throw await ollamaHttpError(response);
    }
    throw new BackendUnavailableError(`Ollama is unreachable at ${hosts.join(', ')} (${describeNetworkError(lastError)}); is it running?`, { cause: lastError });
  }
}

