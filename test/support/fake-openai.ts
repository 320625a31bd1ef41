import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A fake OpenAI-compatible server (the subset vLLM, llama.cpp server and LM Studio share):
 * `GET /v1/models`, `POST /v1/chat/completions` (SSE streaming: a role chunk, one chunk per
 * word, a `finish_reason` chunk, the usage chunk with empty `choices` when
 * `stream_options.include_usage`, then `data: [DONE]`), `POST /v1/embeddings`, and OpenAI's
 * error bodies `{"error": {"message", "type", "param", "code"}}`. Faults can be injected into
 * chat completions; the server style can be switched to llama.cpp's (usage in the finish
 * chunk), to no `[DONE]`, and to CRLF line ends with comment lines.
 */

export type OpenAiFault =
  | { kind: 'status'; status: number; message?: string; code?: string }
  | { kind: 'hang' }
  | { kind: 'hang_after_headers' }
  | { kind: 'slow'; delayMs: number }
  | { kind: 'stall_after'; afterChunks: number }
  | { kind: 'drop'; afterChunks: number }
  /** Ends the body cleanly, without a finish_reason or [DONE]. */
  | { kind: 'end_early'; afterChunks: number }
  | { kind: 'malformed'; afterChunks: number }
  | { kind: 'error_frame'; afterChunks: number; message?: string }
  /** Accept the request, then close the connection without answering. */
  | { kind: 'close_before_answer' }
  /** Stream one `data:` line of `bytes` bytes that never ends (no line end), as fast as the client reads, then hang. */
  | { kind: 'huge_line'; bytes: number };

export interface FakeOpenAiOptions {
  models?: string[];
  /** When set, every request needs `Authorization: Bearer <apiKey>` (401 otherwise). */
  apiKey?: string;
  reply?: (body: any) => string;
  /** `openai`: finish chunk, then a usage chunk; `llamacpp`: usage in the finish chunk. */
  style?: 'openai' | 'llamacpp';
  sendDone?: boolean;
  crlf?: boolean;
  /** Sends `: keep-alive` comment lines between events. */
  comments?: boolean;
}

export interface RecordedOpenAiRequest {
  method: string;
  path: string;
  body: any;
  headers: Record<string, string | string[] | undefined>;
  aborted: boolean;
  completed: boolean;
}

interface Exchange {
  res: ServerResponse;
  record: RecordedOpenAiRequest;
  closed: boolean;
  wake?: () => void;
}

export class FakeOpenAi {
  readonly options: FakeOpenAiOptions;
  private server: Server | undefined;
  private baseUrl = '';
  private readonly recorded: RecordedOpenAiRequest[] = [];
  private readonly faults: OpenAiFault[] = [];
  private readonly open = new Set<Exchange>();
  private defaultFault: OpenAiFault | null = null;

  constructor(options: FakeOpenAiOptions = {}) {
    this.options = { models: ['mistral'], style: 'openai', sendDone: true, ...options };
  }

  /** The API base, `http://127.0.0.1:<port>/v1`, as OPENAI_BASE_URL takes it. */
  get url(): string {
    if (!this.baseUrl) throw new Error('FakeOpenAi is not started');
    return `${this.baseUrl}/v1`;
  }

  get requests(): RecordedOpenAiRequest[] {
    return this.recorded;
  }

  chatRequests(): RecordedOpenAiRequest[] {
    return this.recorded.filter((rec) => rec.path === '/v1/chat/completions');
  }

  enqueue(...faults: OpenAiFault[]): void {
    this.faults.push(...faults);
  }

  setDefaultFault(fault: OpenAiFault | null): void {
    this.defaultFault = fault;
  }

  /** Changes the server style for the next requests (reset() restores the constructor's). */
  configure(options: Partial<FakeOpenAiOptions>): void {
    Object.assign(this.options, options);
  }

  reset(initial: FakeOpenAiOptions = {}): void {
    this.recorded.length = 0;
    this.faults.length = 0;
    this.defaultFault = null;
    Object.assign(this.options, { style: 'openai', sendDone: true, crlf: false, comments: false, apiKey: undefined, ...initial });
  }

  async start(): Promise<string> {
    const server = createServer({ noDelay: true }, (req, res) => this.onRequest(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.server = server;
    this.baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return this.url;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const exchange of this.open) exchange.res.destroy();
    server.closeAllConnections();
    await closed;
  }

  /** Resolves when chat request `index` was closed by the client before it completed. */
  async waitForAbort(index: number, timeoutMs = 5_000): Promise<RecordedOpenAiRequest> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const rec = this.chatRequests()[index];
      if (rec?.completed) throw new Error(`FakeOpenAi: chat request #${index} completed without being aborted`);
      if (rec?.aborted) return rec;
      if (Date.now() > until) throw new Error(`FakeOpenAi: chat request #${index} was not aborted within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('error', () => undefined);
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      let body: any;
      try {
        body = raw === '' ? undefined : JSON.parse(raw);
      } catch {
        body = raw;
      }
      const path = (req.url ?? '/').split('?')[0];
      const record: RecordedOpenAiRequest = { method: req.method ?? 'GET', path, body, headers: req.headers, aborted: false, completed: false };
      this.recorded.push(record);
      const exchange: Exchange = { res, record, closed: false };
      this.open.add(exchange);
      res.on('close', () => {
        this.open.delete(exchange);
        exchange.closed = true;
        if (!res.writableFinished) record.aborted = true;
        exchange.wake?.();
      });
      res.on('finish', () => (record.completed = true));
      this.route(exchange, req.method ?? 'GET', path, body);
    });
  }

  private route(exchange: Exchange, method: string, path: string, body: any): void {
    const { res } = exchange;
    if (this.options.apiKey && exchange.record.headers.authorization !== `Bearer ${this.options.apiKey}`) {
      return sendError(res, 401, 'Incorrect API key provided.', 'invalid_request_error', 'invalid_api_key');
    }
    if (method === 'GET' && path === '/v1/models') {
      const data = (this.options.models ?? []).map((id) => ({ id, object: 'model', created: 1_700_000_000, owned_by: 'fake' }));
      return sendJson(res, 200, { object: 'list', data });
    }
    if (method === 'POST' && path === '/v1/chat/completions') return void this.chat(exchange, body);
    if (method === 'POST' && path === '/v1/embeddings') return this.embeddings(res, body);
    sendError(res, 404, `Unknown request URL: ${method} ${path}`, 'invalid_request_error', 'unknown_url');
  }

  private embeddings(res: ServerResponse, body: any): void {
    if (!this.knows(body?.model)) return sendError(res, 404, `The model \`${body?.model}\` does not exist.`, 'invalid_request_error', 'model_not_found');
    const input: string[] = typeof body.input === 'string' ? [body.input] : body.input;
    // Listed in reverse order: a client must sort by `index`.
    const data = input.map((text, index) => ({ object: 'embedding', index, embedding: vector(text) })).reverse();
    sendJson(res, 200, { object: 'list', data, model: body.model, usage: { prompt_tokens: input.length, total_tokens: input.length } });
  }

  private knows(model: unknown): boolean {
    return typeof model === 'string' && (this.options.models ?? []).includes(model);
  }

  private async chat(exchange: Exchange, body: any): Promise<void> {
    const { res } = exchange;
    const fault = this.faults.shift() ?? this.defaultFault;
    if (fault?.kind === 'status') {
      return sendError(res, fault.status, fault.message ?? `fault ${fault.status}`, fault.status >= 500 ? 'server_error' : 'invalid_request_error', fault.code ?? null);
    }
    if (fault?.kind === 'hang') return;
    if (fault?.kind === 'close_before_answer') return void res.destroy();
    if (fault?.kind === 'huge_line') return this.hugeLine(exchange, fault.bytes);
    if (typeof body?.model !== 'string' || !Array.isArray(body.messages)) {
      return sendError(res, 400, "'model' and 'messages' are required", 'invalid_request_error', null);
    }
    if (!this.knows(body.model)) {
      return sendError(res, 404, `The model \`${body.model}\` does not exist or you do not have access to it.`, 'invalid_request_error', 'model_not_found');
    }
    const last = [...body.messages].reverse().find((message: { role: string }) => message.role === 'user');
    let words: string[] = (this.options.reply?.(body) ?? `Echo: ${last?.content ?? ''}`).match(/\S+\s*/g) ?? [];
    let finish = 'stop';
    if (typeof body.max_tokens === 'number' && words.length > body.max_tokens) {
      words = words.slice(0, body.max_tokens);
      finish = 'length';
    }
    const usage = { prompt_tokens: 7, completion_tokens: words.length, total_tokens: 7 + words.length };
    const id = 'chatcmpl-fake';
    const base = { id, object: 'chat.completion.chunk', created: 1_700_000_000, model: body.model };
    if (body.stream !== true) {
      const message = { role: 'assistant', content: words.join('') };
      return sendJson(res, 200, { ...base, object: 'chat.completion', choices: [{ index: 0, message, finish_reason: finish }], usage });
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    res.flushHeaders();
    if (fault?.kind === 'hang_after_headers') return;
    const eol = this.options.crlf ? '\r\n' : '\n';
    const frame = (data: string): string => `${this.options.comments ? `: keep-alive${eol}` : ''}data: ${data}${eol}${eol}`;
    const includeUsage = body.stream_options?.include_usage === true;
    const llamacpp = this.options.style === 'llamacpp';
    const events = [
      frame(JSON.stringify({ ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] })),
      ...words.map((word) => frame(JSON.stringify({ ...base, choices: [{ index: 0, delta: { content: word }, finish_reason: null }] }))),
      frame(JSON.stringify({ ...base, choices: [{ index: 0, delta: {}, finish_reason: finish }], ...(llamacpp ? { usage } : {}) })),
    ];
    if (includeUsage && !llamacpp) events.push(frame(JSON.stringify({ ...base, choices: [], usage })));
    if (this.options.sendDone) events.push(frame('[DONE]'));
    for (let index = 0; index < events.length; index++) {
      if (exchange.closed) return;
      // Counted in content chunks: the role chunk is number 0.
      if (fault?.kind === 'stall_after' && index === fault.afterChunks + 1) return;
      if (fault?.kind === 'drop' && index === fault.afterChunks + 1) return void res.destroy();
      if (fault?.kind === 'end_early' && index === fault.afterChunks + 1) return void res.end();
      if (fault?.kind === 'malformed' && index === fault.afterChunks + 1) return void res.end(`data: {"choices": [${eol}${eol}`);
      if (fault?.kind === 'error_frame' && index === fault.afterChunks + 1) {
        const error = { error: { message: fault.message ?? 'the model crashed', type: 'server_error', param: null, code: null } };
        return void res.end(frame(JSON.stringify(error)));
      }
      res.write(events[index]);
      if (fault?.kind === 'slow' && index < events.length - 1) await this.sleep(exchange, fault.delayMs);
    }
    res.end();
  }

  private async hugeLine(exchange: Exchange, bytes: number): Promise<void> {
    const { res } = exchange;
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    const filler = 'a'.repeat(64 * 1024);
    let written = 0;
    const write = async (text: string): Promise<void> => {
      written += Buffer.byteLength(text);
      if (!res.write(text)) await new Promise<void>((resolve) => exchange.res.once('drain', resolve).once('close', resolve));
    };
    await write('data: {"choices":[{"index":0,"delta":{"content":"');
    while (written < bytes && !exchange.closed && !res.destroyed) await write(filler.slice(0, Math.min(filler.length, bytes - written)));
  }

  private sleep(exchange: Exchange, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      exchange.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function sendError(res: ServerResponse, status: number, message: string, type: string, code: string | null): void {
  sendJson(res, status, { error: { message, type, param: null, code } });
}

function vector(text: string): number[] {
  const hash = createHash('sha256').update(text).digest();
  return Array.from({ length: 4 }, (_, index) => hash.readInt32BE(index * 4) / 2 ** 31);
}
