import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A fake OpenAI-compatible server (the subset vLLM, llama.cpp server and LM Studio share):
 * `GET /v1/models`, `POST /v1/chat/completions` (SSE streaming: a role chunk, reasoning
 * chunks (`delta.reasoning`, or `delta.reasoning_content` as DeepSeek and older vLLM name it),
 * one chunk per word, tool calls as fragments the way vLLM streams them (id and name first, then
 * the arguments in pieces), a `finish_reason` chunk, the usage chunk with empty `choices` when
 * `stream_options.include_usage`, then `data: [DONE]`), `POST /v1/completions` (the legacy
 * text completion, streamed the same way), `POST /v1/embeddings`, and OpenAI's error bodies
 * `{"error": {"message", "type", "param", "code"}}`. With `logprobs`, every word chunk carries
 * its logprobs (chat: `logprobs.content`; completions: the legacy parallel arrays). Messages are
 * checked as OpenAI checks them (a tool message needs `tool_call_id`, call arguments are JSON
 * text). Faults can be injected into both streams; the server style can be switched to
 * llama.cpp's (usage in the finish chunk), to no `[DONE]`, and to CRLF line ends with comment lines.
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

/** What the fake answers: text, reasoning, tool calls (`arguments` as a string is sent verbatim, broken JSON included). */
export interface FakeOpenAiAnswer {
  content?: string;
  reasoning?: string;
  toolCalls?: { name: string; arguments: Record<string, unknown> | string; id?: string }[];
}

export interface FakeOpenAiOptions {
  models?: string[];
  /** When set, every request needs `Authorization: Bearer <apiKey>` (401 otherwise). */
  apiKey?: string;
  reply?: (body: any) => string;
  /** The answer to a chat request (instead of `reply`'s text); answers queued with `enqueueAnswer` come first. */
  respond?: (body: any) => FakeOpenAiAnswer;
  /** The field reasoning is streamed in: `reasoning` (vLLM today, Ollama, OpenRouter) or `reasoning_content` (DeepSeek, older vLLM). */
  reasoningField?: 'reasoning' | 'reasoning_content';
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
  private readonly answers: FakeOpenAiAnswer[] = [];
  private readonly open = new Set<Exchange>();
  private defaultFault: OpenAiFault | null = null;

  constructor(options: FakeOpenAiOptions = {}) {
    this.options = { models: ['mistral'], style: 'openai', sendDone: true, reasoningField: 'reasoning', ...options };
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

  completionRequests(): RecordedOpenAiRequest[] {
    return this.recorded.filter((rec) => rec.path === '/v1/completions');
  }

  /** The answers to the next chat requests, in order. */
  enqueueAnswer(...answers: FakeOpenAiAnswer[]): void {
    this.answers.push(...answers);
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
    this.answers.length = 0;
    this.defaultFault = null;
    Object.assign(this.options, {
      style: 'openai',
      sendDone: true,
      crlf: false,
      comments: false,
      apiKey: undefined,
      respond: undefined,
      reasoningField: 'reasoning',
      ...initial,
    });
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
    if (method === 'POST' && path === '/v1/completions') return void this.completion(exchange, body);
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

  /** Applies a queued fault that answers before any event; returns whether the exchange is handled. */
  private preamble(exchange: Exchange, fault: OpenAiFault | null): boolean {
    const { res } = exchange;
    if (fault?.kind === 'status') {
      sendError(res, fault.status, fault.message ?? `fault ${fault.status}`, fault.status >= 500 ? 'server_error' : 'invalid_request_error', fault.code ?? null);
      return true;
    }
    if (fault?.kind === 'hang') return true;
    if (fault?.kind === 'close_before_answer') {
      res.destroy();
      return true;
    }
    if (fault?.kind === 'huge_line') {
      void this.hugeLine(exchange, fault.bytes);
      return true;
    }
    return false;
  }

  private async chat(exchange: Exchange, body: any): Promise<void> {
    const { res } = exchange;
    const fault = this.faults.shift() ?? this.defaultFault;
    if (this.preamble(exchange, fault)) return;
    if (typeof body?.model !== 'string' || !Array.isArray(body.messages)) {
      return sendError(res, 400, "'model' and 'messages' are required", 'invalid_request_error', null);
    }
    const invalid = invalidMessage(body.messages);
    if (invalid) return sendError(res, 400, invalid, 'invalid_request_error', null);
    if (!this.knows(body.model)) {
      return sendError(res, 404, `The model \`${body.model}\` does not exist or you do not have access to it.`, 'invalid_request_error', 'model_not_found');
    }
    const answer = this.answers.shift() ?? this.options.respond?.(body) ?? { content: this.options.reply?.(body) ?? `Echo: ${textOf(lastUser(body.messages))}` };
    let words: string[] = answer.content?.match(/\S+\s*/g) ?? [];
    const thoughts: string[] = answer.reasoning?.match(/\S+\s*/g) ?? [];
    const calls = answer.toolCalls ?? [];
    let finish = calls.length > 0 ? 'tool_calls' : 'stop';
    if (typeof body.max_tokens === 'number' && words.length > body.max_tokens) {
      words = words.slice(0, body.max_tokens);
      finish = 'length';
    }
    const usage = { prompt_tokens: 7, completion_tokens: words.length + thoughts.length, total_tokens: 7 + words.length + thoughts.length };
    const base = { id: 'chatcmpl-fake', object: 'chat.completion.chunk', created: 1_700_000_000, model: body.model };
    const wireCalls = calls.map((call, index) => ({
      id: call.id ?? `chatcmpl-tool-${index}${createHash('sha256').update(call.name).digest('hex').slice(0, 8)}`,
      type: 'function',
      function: { name: call.name, arguments: typeof call.arguments === 'string' ? call.arguments : JSON.stringify(call.arguments) },
    }));
    if (body.stream !== true) {
      const message: Record<string, unknown> = { role: 'assistant', content: words.join('') || (calls.length > 0 ? null : '') };
      if (thoughts.length > 0) message[this.options.reasoningField ?? 'reasoning'] = thoughts.join('');
      if (calls.length > 0) message.tool_calls = wireCalls;
      return sendJson(res, 200, { ...base, object: 'chat.completion', choices: [{ index: 0, message, finish_reason: finish }], usage });
    }
    const top = typeof body.top_logprobs === 'number' ? body.top_logprobs : 0;
    const delta = (value: object, logprobs?: unknown) => ({ ...base, choices: [{ index: 0, delta: value, ...(logprobs ? { logprobs } : {}), finish_reason: null }] });
    const chunks: object[] = [
      delta({ role: 'assistant', content: '' }),
      ...thoughts.map((word) => delta({ [this.options.reasoningField ?? 'reasoning']: word })),
      ...words.map((word, index) => delta({ content: word }, body.logprobs === true ? { content: [tokenLogprob(word, index, top)], refusal: null } : undefined)),
      ...wireCalls.flatMap((call, index) => [
        delta({ tool_calls: [{ index, id: call.id, type: 'function', function: { name: call.function.name, arguments: '' } }] }),
        ...pieces(call.function.arguments, 7).map((piece) => delta({ tool_calls: [{ index, function: { arguments: piece } }] })),
      ]),
    ];
    await this.stream(exchange, fault, chunks, { ...base, choices: [{ index: 0, delta: {}, finish_reason: finish }] }, { ...base, choices: [], usage }, body);
  }

  /** The legacy text completion: `prompt` (and `suffix`) in, the reply's words out. */
  private async completion(exchange: Exchange, body: any): Promise<void> {
    const { res } = exchange;
    const fault = this.faults.shift() ?? this.defaultFault;
    if (this.preamble(exchange, fault)) return;
    if (typeof body?.model !== 'string' || typeof body.prompt !== 'string') {
      return sendError(res, 400, "'model' and 'prompt' are required", 'invalid_request_error', null);
    }
    if (!this.knows(body.model)) {
      return sendError(res, 404, `The model \`${body.model}\` does not exist.`, 'invalid_request_error', 'model_not_found');
    }
    const text = this.options.reply?.(body) ?? `Completion of ${body.prompt}${typeof body.suffix === 'string' ? ` before ${body.suffix}` : ''}`;
    let words: string[] = text.match(/\S+\s*/g) ?? [];
    let finish = 'stop';
    const limit = typeof body.max_tokens === 'number' ? body.max_tokens : 16;
    if (words.length > limit) {
      words = words.slice(0, limit);
      finish = 'length';
    }
    const usage = { prompt_tokens: 5, completion_tokens: words.length, total_tokens: 5 + words.length };
    const base = { id: 'cmpl-fake', object: 'text_completion', created: 1_700_000_000, model: body.model };
    let offset = 0;
    const chunks = words.map((word, index) => {
      const entry = tokenLogprob(word, index, typeof body.logprobs === 'number' ? body.logprobs : 0);
      const logprobs =
        typeof body.logprobs === 'number'
          ? {
              tokens: [word],
              token_logprobs: [entry.logprob],
              top_logprobs: [Object.fromEntries(entry.top_logprobs.map((alternative) => [alternative.token, alternative.logprob]))],
              text_offset: [offset],
            }
          : null;
      offset += word.length;
      return { ...base, choices: [{ index: 0, text: word, logprobs, finish_reason: null }] };
    });
    if (body.stream !== true) {
      return sendJson(res, 200, { ...base, choices: [{ index: 0, text: words.join(''), logprobs: null, finish_reason: finish }], usage });
    }
    await this.stream(exchange, fault, chunks, { ...base, choices: [{ index: 0, text: '', logprobs: null, finish_reason: finish }] }, { ...base, choices: [], usage }, body);
  }

  /** Streams the chunks, the finish chunk, the usage and `[DONE]` in the configured style, with the fault applied. */
  private async stream(exchange: Exchange, fault: OpenAiFault | null, chunks: object[], finishChunk: object, usageChunk: { usage: object; [field: string]: unknown }, body: any): Promise<void> {
    const { res } = exchange;
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    res.flushHeaders();
    if (fault?.kind === 'hang_after_headers') return;
    const eol = this.options.crlf ? '\r\n' : '\n';
    const frame = (data: string): string => `${this.options.comments ? `: keep-alive${eol}` : ''}data: ${data}${eol}${eol}`;
    const includeUsage = body.stream_options?.include_usage === true;
    const llamacpp = this.options.style === 'llamacpp';
    const events = [
      ...chunks.map((chunk) => frame(JSON.stringify(chunk))),
      frame(JSON.stringify({ ...finishChunk, ...(llamacpp ? { usage: usageChunk.usage } : {}) })),
    ];
    if (includeUsage && !llamacpp) events.push(frame(JSON.stringify(usageChunk)));
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

function lastUser(messages: { role: string; content?: unknown }[]): { content?: unknown } | undefined {
  return [...messages].reverse().find((message) => message.role === 'user');
}

/** The text of a message's content: a string, or its text parts joined. */
function textOf(message: { content?: unknown } | undefined): string {
  const content = message?.content;
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.filter((part) => part?.type === 'text').map((part) => part.text).join(' ');
}

/** What OpenAI refuses in `messages` with a 400 (the checks that catch a wrong mapping); undefined when fine. */
function invalidMessage(messages: any[]): string | undefined {
  for (const [index, message] of messages.entries()) {
    if (message?.role === 'tool' && typeof message.tool_call_id !== 'string') {
      return `Missing required parameter: 'messages[${index}].tool_call_id'.`;
    }
    if (message?.role === 'assistant') {
      if (message.content === null && !Array.isArray(message.tool_calls)) return `Invalid value for 'messages[${index}].content': null without tool_calls.`;
      for (const [at, call] of (message.tool_calls ?? []).entries()) {
        if (typeof call?.id !== 'string' || call.type !== 'function' || typeof call.function?.name !== 'string') {
          return `Invalid 'messages[${index}].tool_calls[${at}]': expected {id, type: 'function', function: {name, arguments}}.`;
        }
        if (typeof call.function.arguments !== 'string') return `Invalid type for 'messages[${index}].tool_calls[${at}].function.arguments': expected a string.`;
      }
    }
    if (Array.isArray(message?.content)) {
      for (const [at, part] of message.content.entries()) {
        if (part?.type === 'image_url' && (message.role !== 'user' || !/^(data:image\/[a-z]+;base64,|https?:\/\/)/.test(part.image_url?.url ?? ''))) {
          return `Invalid 'messages[${index}].content[${at}].image_url.url': expected a data URL or an http(s) URL in a user message.`;
        }
      }
    }
  }
  return undefined;
}

/** A deterministic logprob for the word at `index`, with `top` alternatives (the word itself first). */
function tokenLogprob(word: string, index: number, top: number) {
  const logprob = -0.125 * (index + 1);
  const alternatives = Array.from({ length: top }, (_, rank) =>
    rank === 0 ? { token: word, logprob, bytes: [...Buffer.from(word)] } : { token: `alt${rank}`, logprob: logprob - rank, bytes: [...Buffer.from(`alt${rank}`)] },
  );
  return { token: word, logprob, bytes: [...Buffer.from(word)], top_logprobs: alternatives };
}

/** `text` cut into pieces of `size` characters (at least one piece, possibly empty). */
function pieces(text: string, size: number): string[] {
  const out: string[] = [];
  for (let at = 0; at < text.length; at += size) out.push(text.slice(at, at + size));
  return out.length > 0 ? out : [''];
}
