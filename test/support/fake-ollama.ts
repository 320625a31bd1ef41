import { createHash } from 'node:crypto';
import { createServer, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  base64Error,
  DEFAULT_NUM_CTX,
  embedVector,
  type FakeAnswer,
  type FakeCapability,
  fakeModel,
  type FakeModel,
  type FakeModelSpec,
  minimalInstance,
  parseThink,
  specName,
  tokenLogprob,
  toolCallId,
} from './fake-ollama-model';

export type { FakeAnswer, FakeCapability, FakeModelSpec } from './fake-ollama-model';

/**
 * A fake Ollama HTTP server that speaks the wire protocol of /work/shared/reference/ollama-api.md
 * (NDJSON streaming, Go-style error bodies, metrics in nanoseconds) and can inject faults into
 * /api/chat. Also used by the benchmark, so the per-request path stays allocation-light.
 */

export type FakeFault =
  | { kind: 'status'; status: number; message?: string }
  | { kind: 'hang' }
  | { kind: 'hang_after_headers' }
  /** Accept the request, then close the connection without answering. */
  | { kind: 'close_before_answer' }
  /** Send the 200 status line and headers, then close the connection. */
  | { kind: 'close_after_headers' }
  /** Stream a line of `bytes` bytes that never ends (no newline), as fast as the client reads, then hang. */
  | { kind: 'huge_line'; bytes: number }
  | { kind: 'slow'; delayMs: number }
  | { kind: 'delay_first'; delayMs: number }
  | { kind: 'stall_after'; afterChunks: number }
  | { kind: 'drop'; afterChunks: number }
  | { kind: 'malformed'; afterChunks: number }
  | { kind: 'error_line'; afterChunks: number; message?: string }
  | { kind: 'reply'; text: string; promptEvalCount?: number; evalCount?: number }
  /** Not a fault: the next chat/generate answers with this (thinking, content, tool calls). */
  | { kind: 'answer'; answer: FakeAnswer };

export interface ChatMessage {
  role: string;
  content?: string;
  [key: string]: unknown;
}

export interface ChatRequestBody {
  model: string;
  messages?: ChatMessage[];
  stream?: boolean;
  options?: Record<string, unknown>;
  [key: string]: unknown;
}

export interface FakeOllamaOptions {
  /** Names (capabilities `['completion']`; `['embedding']` for names with "embed") or full specs. */
  models?: FakeModelSpec[];
  version?: string;
  /** The answer's text (default `Echo: <last user message>`); `respond` wins when both are given. */
  reply?: (req: ChatRequestBody) => string;
  /** The whole answer: thinking, content, tool calls (content left out: `reply`, a `format` instance, or the echo). */
  respond?: (req: ChatRequestBody) => FakeAnswer;
  tokenDelayMs?: number;
  /**
   * The context a model gets when neither the request nor its Modelfile sets `num_ctx` (Ollama's
   * OLLAMA_CONTEXT_LENGTH, or its choice by VRAM: 4096 under 24 GiB, 32768 up to 48 GiB). Default 4096.
   */
  defaultNumCtx?: number;
  chunkSize?: 'word' | number;
  /** Store every request in `requests` (default true). Turn off for benchmarks. */
  record?: boolean;
  /** The models `/api/pull` can fetch, as if from the registry (default none: every pull fails as offline). */
  registry?: FakeModelSpec[];
  /** The pause between two progress lines of `/api/pull` and `/api/push` (default 0). */
  progressDelayMs?: number;
  /**
   * Chats and generations the server runs at once (Ollama's `OLLAMA_NUM_PARALLEL`, here for the
   * whole server); the others wait for a slot, in order. Unset: no limit.
   */
  numParallel?: number;
  /**
   * Requests that may wait for a slot beyond `numParallel` (`OLLAMA_MAX_QUEUE`, default 512);
   * past it a request is answered 503 `server busy, please try again.  maximum pending requests exceeded`.
   */
  maxQueue?: number;
  /**
   * A chat or generation for a model that is not loaded waits this long first (loading it; requests
   * for the same model share one load), then the model is loaded (`/api/ps` lists it).
   */
  loadDelayMs?: number;
}

export interface RecordedRequest {
  method: string;
  path: string;
  body: any;
  headers: Record<string, string | string[] | undefined>;
  receivedAt: number;
  /** true when the client closed the connection before the response completed */
  aborted: boolean;
  completed: boolean;
}

export const DEFAULT_ERROR_LINE_MESSAGE = 'an error was encountered while running the model: unexpected EOF';

const DEFAULT_STATUS_MESSAGES: Readonly<Record<number, string>> = {
  429: 'rate limited',
  500: 'internal server error',
  502: 'bad gateway',
  503: 'server busy, please try again.  maximum pending requests exceeded',
};

// Gin's c.JSON and c.String add the charset; Ollama sets the NDJSON type verbatim and streams chunked.
const JSON_TYPE = 'application/json; charset=utf-8';
const JSON_HEADERS = { 'content-type': JSON_TYPE };
const NDJSON_HEADERS = { 'content-type': 'application/x-ndjson', 'transfer-encoding': 'chunked' };

// Nominal timings so the metrics look like a warm 7B model whatever the real elapsed time.
const LOAD_NS = 2_500_000;
const PROMPT_TOKEN_NS = 150_000;
const EVAL_TOKEN_NS = 10_000_000;
const MODIFIED_AT = '2025-06-01T12:00:00.000000000Z';

/** What `/api/create` was asked to make (tests read it back with `createdModel`). */
export interface CreatedModel {
  name: string;
  from: string;
  adapters: Record<string, string>;
  system?: string;
  parameters?: Record<string, unknown>;
}

type CreateFailure = { error: string; code?: number };
type CreateEvent = { status: string } | CreateFailure;
/** A line of `/api/pull` or `/api/push`: Go's ProgressResponse, fields in its order. */
type ProgressEvent = { status: string; digest?: string; total?: number; completed?: number } | CreateFailure;

const BLOB_PATH = '/api/blobs/';
const BLOB_DIGEST = /^sha256[:-][0-9a-fA-F]{64}$/;
const GGUF_MAGIC = 'GGUF';
/** Ollama's model names: optional host and namespace, a name, an optional tag. */
const MODEL_NAME = /^(?:[A-Za-z0-9][A-Za-z0-9._-]*(?::\d+)?\/){0,2}[A-Za-z0-9][A-Za-z0-9._-]{0,79}(?::[A-Za-z0-9_][A-Za-z0-9._-]{0,79})?$/;

/** One HTTP exchange, alive from request arrival until the response's 'close'. */
interface Exchange {
  readonly res: ServerResponse;
  readonly isChat: boolean;
  record: RecordedRequest | undefined;
  closed: boolean;
  /** we ended the connection on purpose (drop fault, stop()): not a client abort */
  endedByServer: boolean;
  cancelSleep: (() => void) | undefined;
  /** It holds one of the `numParallel` generation slots until it closes. */
  holdsSlot?: boolean;
}

type Parsed = { ok: true; value: unknown } | { ok: false; error: string };
type ApiError = { status: number; message: string };
type FieldSpec = readonly [name: string, accepts: (value: unknown) => boolean, goType: string];

const isString = (value: unknown): boolean => typeof value === 'string';
const isBoolean = (value: unknown): boolean => typeof value === 'boolean';
const isStringArray = (value: unknown): boolean => Array.isArray(value) && value.every(isString);
/** Fields both /api/chat and /api/generate bind the same way. */
const COMMON_FIELDS: readonly FieldSpec[] = [
  ['model', isString, 'string'],
  ['stream', isBoolean, 'bool'],
  ['options', (value) => isObject(value), 'map[string]interface {}'],
  ['logprobs', isBoolean, 'bool'],
  ['top_logprobs', (value) => Number.isInteger(value), 'int'],
];
const CHAT_FIELDS: readonly FieldSpec[] = [
  ...COMMON_FIELDS,
  ['messages', Array.isArray, '[]api.Message'],
  ['tools', Array.isArray, 'api.Tools'],
];
const isStringMap = (value: unknown): boolean => isObject(value) && Object.values(value).every(isString);
const CREATE_FIELDS: readonly FieldSpec[] = [
  ['model', isString, 'string'],
  ['from', isString, 'string'],
  ['system', isString, 'string'],
  ['files', isStringMap, 'map[string]string'],
  ['adapters', isStringMap, 'map[string]string'],
  ['parameters', (value) => isObject(value), 'map[string]interface {}'],
  ['stream', isBoolean, 'bool'],
];
const EMBED_FIELDS: readonly FieldSpec[] = [
  ['model', isString, 'string'],
  ['prompt', isString, 'string'],
  ['truncate', isBoolean, 'bool'],
  ['dimensions', (value) => Number.isInteger(value), 'int'],
  ['options', (value) => isObject(value), 'map[string]interface {}'],
];
const GENERATE_FIELDS: readonly FieldSpec[] = [
  ...COMMON_FIELDS,
  ['prompt', isString, 'string'],
  ['suffix', isString, 'string'],
  ['system', isString, 'string'],
  ['raw', isBoolean, 'bool'],
  ['images', isStringArray, '[]api.ImageData'],
  ['context', (value) => Array.isArray(value) && value.every((item) => Number.isInteger(item)), '[]int'],
];

/** A tool call as Ollama writes it: whole, with its made-up id and its position. */
interface WireToolCall {
  id: string;
  function: { index: number; name: string; arguments: Record<string, unknown> };
}

/** What a line carries beside its content. */
interface Extra {
  thinking?: string;
  toolCalls?: WireToolCall[];
}

/** What differs between /api/chat and /api/generate output. */
interface Shape {
  readonly lineOpen: string;
  readonly lineClose: string;
  fields(content: string, extra?: Extra): Record<string, unknown>;
}

const CHAT_SHAPE: Shape = {
  lineOpen: '"message":{"role":"assistant","content":',
  lineClose: '},',
  fields: (content, extra) => ({
    message: {
      role: 'assistant',
      content,
      ...(extra?.thinking ? { thinking: extra.thinking } : {}),
      ...(extra?.toolCalls?.length ? { tool_calls: extra.toolCalls } : {}),
    },
  }),
};

const GENERATE_SHAPE: Shape = {
  lineOpen: '"response":',
  lineClose: ',',
  fields: (content, extra) => ({ response: content, ...(extra?.thinking ? { thinking: extra.thinking } : {}) }),
};

interface Plan {
  readonly modelJson: string;
  readonly model: string;
  readonly shape: Shape;
  /** The answer's text, one chunk a token. */
  readonly chunks: string[];
  /** Reasoning chunks, streamed before the text. */
  readonly thinking: string[];
  /** Sent whole in one chunk after the text. */
  readonly toolCalls: WireToolCall[];
  /** `top_logprobs` when the request asked for `logprobs` (each text chunk then carries them). */
  readonly logprobs: number | undefined;
  /** Anything beyond plain text: the lines are then built as objects (the plain path stays string-only). */
  readonly rich: boolean;
  readonly promptEvalCount: number;
  readonly evalCount: number;
  readonly startedAt: bigint;
  /** `length` when `options.num_predict` cut the reply short, as Ollama reports it. */
  readonly doneReason: 'stop' | 'length';
  /** `/api/generate` (not raw): the conversation as token ids, sent back with the final line. */
  readonly context?: number[];
}

export class FakeOllama {
  private readonly opts: FakeOllamaOptions;
  private readonly models = new Map<string, FakeModel>();
  /** Uploaded blobs by file name (`sha256-<hex>`, as Ollama stores them). */
  private readonly blobs = new Map<string, Buffer>();
  private readonly created = new Map<string, CreatedModel>();
  private readonly recorded: RecordedRequest[] = [];
  private readonly recordedChats: RecordedRequest[] = [];
  private readonly faults: FakeFault[] = [];
  private readonly open = new Set<Exchange>();
  private readonly waiters = new Set<() => void>();
  private defaultFault: FakeFault | null = null;
  /** Models a chat, generate or embed loaded, until their keep_alive runs out (for `/api/ps`). */
  private readonly loaded = new Map<string, { expiresAt: number; numCtx: number }>();
  private chatsInFlight = 0;
  /** Generations holding a slot now, and the most ever at once. */
  private generating = 0;
  private peakGenerating = 0;
  /** Requests waiting for a generation slot, first come first served. */
  private readonly slotWaiters: (() => void)[] = [];
  /** Models being loaded (`loadDelayMs`): requests for the same model wait for the same load. */
  private readonly loads = new Map<string, Promise<void>>();
  private server: Server | undefined;
  private stopping: Promise<void> | undefined;
  private baseUrl = '';

  constructor(opts: FakeOllamaOptions = {}) {
    this.opts = opts;
    for (const spec of opts.models ?? ['mistral']) {
      const full = normalizeModelName(specName(spec));
      this.models.set(full, fakeModel(spec, full));
    }
  }

  get url(): string {
    if (!this.baseUrl) throw new Error('FakeOllama is not started');
    return this.baseUrl;
  }

  get requests(): RecordedRequest[] {
    return this.recorded;
  }

  chatRequests(): RecordedRequest[] {
    return this.recordedChats.slice();
  }

  /** The digests (`sha256:<hex>`) of the blobs uploaded so far. */
  blobDigests(): string[] {
    return [...this.blobs.keys()].map((file) => file.replace('-', ':'));
  }

  /** What `/api/create` made of a model (by any of its names), if it created it. */
  createdModel(name: string): CreatedModel | undefined {
    return this.created.get(normalizeModelName(name));
  }

  async start(port = 0, host = '127.0.0.1'): Promise<string> {
    if (this.server) throw new Error('FakeOllama already started');
    const server = createServer({ noDelay: true }, this.onRequest);
    // Longer than any client's keep-alive, so the benchmark never races a server-side idle close.
    server.keepAliveTimeout = 65_000;
    server.headersTimeout = 66_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    this.stopping = undefined;
    const { port: bound } = server.address() as AddressInfo;
    this.baseUrl = `http://${host.includes(':') ? `[${host}]` : host}:${bound}`;
    return this.baseUrl;
  }

  stop(): Promise<void> {
    const server = this.server;
    if (!server) return this.stopping ?? Promise.resolve();
    this.server = undefined;
    this.baseUrl = '';
    this.stopping = new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const exchange of this.open) {
        exchange.endedByServer = true;
        exchange.res.destroy();
      }
      server.closeAllConnections();
    });
    return this.stopping;
  }

  enqueue(...faults: FakeFault[]): void {
    this.faults.push(...faults);
  }

  setDefaultFault(fault: FakeFault | null): void {
    this.defaultFault = fault;
  }

  /** Forgets requests, faults and loaded models (a restarted server); the models themselves stay. */
  reset(): void {
    this.recorded.length = 0;
    this.recordedChats.length = 0;
    this.faults.length = 0;
    this.defaultFault = null;
    this.loaded.clear();
    this.loads.clear();
    this.peakGenerating = this.generating;
  }

  inFlight(): number {
    return this.chatsInFlight;
  }

  /** The most chats and generations that ran at once (holding a `numParallel` slot) since the start or `reset()`. */
  peakConcurrency(): number {
    return this.peakGenerating;
  }

  /** Requests waiting for a generation slot now (`numParallel`). */
  queued(): number {
    return this.slotWaiters.length;
  }

  waitForRequests(n: number, timeoutMs = 5_000): Promise<void> {
    if (this.opts.record === false) return Promise.reject(new Error('FakeOllama: recording is disabled'));
    return this.waitFor(
      () => (this.recordedChats.length >= n ? true : undefined),
      timeoutMs,
      () => `expected ${n} /api/chat request(s), got ${this.recordedChats.length}`,
    ).then(() => undefined);
  }

  waitForAbort(index: number, timeoutMs = 5_000): Promise<RecordedRequest> {
    return this.waitFor(
      () => {
        const rec = this.recordedChats[index];
        if (rec?.completed) throw new Error(`FakeOllama: /api/chat request #${index} completed without being aborted`);
        return rec?.aborted ? rec : undefined;
      },
      timeoutMs,
      () =>
        this.recordedChats[index]
          ? `/api/chat request #${index} is still open (not aborted by the client)`
          : `/api/chat request #${index} never arrived (${this.recordedChats.length} received)`,
    );
  }

  private waitFor<T>(check: () => T | undefined, timeoutMs: number, describe: () => string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const finish = (): void => {
        clearTimeout(timer);
        this.waiters.delete(waiter);
      };
      const waiter = (): void => {
        try {
          const value = check();
          if (value === undefined) return;
          finish();
          resolve(value);
        } catch (error) {
          finish();
          reject(error as Error);
        }
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`FakeOllama: timed out after ${timeoutMs} ms: ${describe()}`));
      }, timeoutMs);
      this.waiters.add(waiter);
      waiter();
    });
  }

  private notify(): void {
    for (const waiter of this.waiters) waiter();
  }

  private readonly onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const path = pathOf(req.url);
    const exchange: Exchange = {
      res,
      isChat: req.method === 'POST' && path === '/api/chat',
      record: undefined,
      closed: false,
      endedByServer: false,
      cancelSleep: undefined,
    };
    this.open.add(exchange);
    if (exchange.isChat) this.chatsInFlight++;
    res.on('close', () => this.onClose(exchange));
    // A client that disconnects mid-upload makes req emit 'error'; that is not our failure.
    req.on('error', noop);
    readBody(req, (bytes) => {
      try {
        this.route(req, exchange, path, bytes);
      } catch (error) {
        failExchange(exchange, error);
      }
    });
  };

  private onClose(exchange: Exchange): void {
    this.open.delete(exchange);
    if (exchange.isChat) this.chatsInFlight--;
    exchange.closed = true;
    exchange.cancelSleep?.();
    if (exchange.holdsSlot) {
      exchange.holdsSlot = false;
      this.generating--;
      this.slotWaiters.shift()?.();
    }
    if (exchange.record) {
      settleRecord(exchange);
      this.notify();
    }
  }

  private route(req: IncomingMessage, exchange: Exchange, path: string, bytes: Buffer): void {
    const method = req.method ?? 'GET';
    const raw = bytes.length === 0 ? '' : bytes.toString('utf8');
    const parsed = method === 'POST' ? parseJson(raw) : undefined;
    if (this.opts.record !== false) this.record(req, exchange, path, raw, parsed);
    const res = exchange.res;
    const read = method === 'GET' || method === 'HEAD';

    if (path === '/' && read) return sendText(res, 200, 'text/plain; charset=utf-8', 'Ollama is running');
    if (path === '/api/version' && read) return sendJson(res, 200, { version: this.opts.version ?? '0.12.6' });
    if (path === '/api/tags' && read) return sendJson(res, 200, { models: this.tags() });
    if (path === '/api/ps' && method === 'GET') return sendJson(res, 200, { models: this.running() });
    if (path.startsWith(BLOB_PATH) && method === 'HEAD') return this.handleHeadBlob(res, path.slice(BLOB_PATH.length));
    if (path.startsWith(BLOB_PATH) && method === 'POST') return this.handlePushBlob(res, path.slice(BLOB_PATH.length), bytes);
    if (path === '/api/delete' && method === 'DELETE') return this.handleDelete(res, raw, parseJson(raw));
    if (method === 'POST' && parsed) {
      switch (path) {
        case '/api/chat':
          return this.handleChat(exchange, raw, parsed);
        case '/api/generate':
          return this.handleGenerate(exchange, raw, parsed);
        case '/api/show':
          return this.handleShow(res, raw, parsed);
        case '/api/embed':
          return this.handleEmbed(res, raw, parsed, false);
        case '/api/embeddings':
          return this.handleEmbed(res, raw, parsed, true);
        case '/api/create':
          return this.handleCreate(res, raw, parsed);
        case '/api/pull':
          return void this.handlePull(exchange, raw, parsed);
        case '/api/push':
          return void this.handlePush(exchange, raw, parsed);
        case '/api/copy':
          return this.handleCopy(res, raw, parsed);
      }
    }
    sendText(res, 404, 'text/plain', '404 page not found');
  }

  private record(req: IncomingMessage, exchange: Exchange, path: string, raw: string, parsed?: Parsed): void {
    const rec: RecordedRequest = {
      method: req.method ?? 'GET',
      path,
      body: parsed?.ok ? parsed.value : raw === '' ? undefined : raw,
      headers: req.headers,
      receivedAt: Date.now(),
      aborted: false,
      completed: false,
    };
    exchange.record = rec;
    this.recorded.push(rec);
    if (exchange.isChat) this.recordedChats.push(rec);
    if (exchange.closed) settleRecord(exchange);
    if (this.waiters.size > 0) this.notify();
  }

  private handleChat(exchange: Exchange, raw: string, parsed: Parsed): void {
    const fault = this.faults.shift() ?? this.defaultFault;
    const stream = !(parsed.ok && isObject(parsed.value) && parsed.value.stream === false);
    if (fault && applyTransportFault(fault, exchange, stream)) return;

    const checked = this.validate(raw, parsed, 'ChatRequest', CHAT_FIELDS);
    if ('error' in checked) return sendError(exchange.res, checked.error);
    const { model } = checked;
    const req = checked.body as ChatRequestBody;
    const messages = req.messages ?? [];
    const wants: FakeCapability[] = [];
    if (Array.isArray(req.tools) && req.tools.length > 0) wants.push('tools');
    if (messages.some((m) => Array.isArray(m?.images) && m.images.length > 0)) wants.push('vision');
    const refused = capabilityRefusal(req, model, 'chat', wants);
    if (refused) return sendError(exchange.res, refused);
    this.whenScheduled(exchange, model, () => {
      this.touch(model, req);
      if (messages.length === 0) return this.sendLoaded(exchange.res, req.model, CHAT_SHAPE);

      const promptWords = fittedPromptWords(messages, contextSize(req, model, this.opts.defaultNumCtx));
      const echo = `Echo: ${lastUserContent(messages)}`;
      this.respond(exchange, this.plan(req, model, CHAT_SHAPE, this.scripted(req, fault), echo, promptWords), stream, fault);
    });
  }

  private handleGenerate(exchange: Exchange, raw: string, parsed: Parsed): void {
    // Faults are for /api/chat; a queued answer is for whichever of the two comes first.
    const fault = this.faults[0]?.kind === 'answer' ? (this.faults.shift() ?? null) : null;
    const checked = this.validate(raw, parsed, 'GenerateRequest', GENERATE_FIELDS);
    if ('error' in checked) return sendError(exchange.res, checked.error);
    const { model } = checked;
    const req = checked.body as ChatRequestBody & { prompt?: string; suffix?: string; system?: string; images?: string[] };
    if (req.raw === true && (req.system || req.template || req.context)) {
      return sendError(exchange.res, { status: 400, message: 'raw mode does not support template, system, or context' });
    }
    const wants: FakeCapability[] = [];
    if (req.suffix) wants.push('insert');
    if (Array.isArray(req.images) && req.images.length > 0) wants.push('vision');
    const refused = capabilityRefusal(req, model, 'generate', wants);
    if (refused) return sendError(exchange.res, refused);
    this.whenScheduled(exchange, model, () => this.generate(exchange, model, req, fault));
  }

  private generate(
    exchange: Exchange,
    model: FakeModel,
    req: ChatRequestBody & { prompt?: string; suffix?: string; system?: string; images?: string[] },
    fault: FakeFault | null,
  ): void {
    const prompt = req.prompt ?? '';
    this.touch(model, req);
    if (prompt === '' && !req.suffix) return this.sendLoaded(exchange.res, req.model, GENERATE_SHAPE);

    const messages: ChatMessage[] = [{ role: 'user', content: prompt }];
    if (req.system) messages.unshift({ role: 'system', content: req.system });
    const view: ChatRequestBody = { ...req, messages };
    // The runner keeps about half the context of a prompt that does not fit.
    const numCtx = contextSize(req, model, this.opts.defaultNumCtx);
    const words = countWords([req.system, prompt, req.suffix]) + IMAGE_WORDS * (req.images?.length ?? 0);
    const promptWords = words > numCtx ? Math.floor(numCtx / 2) : words;
    const plan = this.plan(view, model, GENERATE_SHAPE, this.scripted(view, fault), `Echo: ${prompt}`, promptWords);
    // A word stands for a token: the ids of the earlier context, the prompt and the answer.
    const context = req.raw === true ? undefined : [...(Array.isArray(req.context) ? (req.context as number[]) : []), ...tokenIds(prompt), ...tokenIds(plan.chunks.join(''))];
    this.respond(exchange, context ? { ...plan, context } : plan, req.stream !== false, null);
  }

  /**
   * Runs `start` once the request may generate: at once without `numParallel` and `loadDelayMs`
   * (synchronously, as before they existed); otherwise after a free slot (or 503 when too many
   * wait) and the model's load. A request whose client leaves meanwhile is dropped.
   */
  private whenScheduled(exchange: Exchange, model: FakeModel, start: () => void): void {
    if (this.opts.numParallel === undefined && !this.opts.loadDelayMs) return start();
    this.schedule(exchange, model).then(
      (admitted) => {
        if (admitted) start();
      },
      (error: unknown) => failExchange(exchange, error),
    );
  }

  private async schedule(exchange: Exchange, model: FakeModel): Promise<boolean> {
    const { numParallel, maxQueue = 512, loadDelayMs } = this.opts;
    if (numParallel !== undefined) {
      while (this.generating >= numParallel) {
        if (this.slotWaiters.length >= maxQueue) {
          sendError(exchange.res, { status: 503, message: DEFAULT_STATUS_MESSAGES[503] });
          return false;
        }
        let wake!: () => void;
        const turn = new Promise<void>((resolve) => (wake = resolve));
        this.slotWaiters.push(wake);
        await this.until(exchange, turn);
        if (exchange.closed) {
          const index = this.slotWaiters.indexOf(wake);
          // Woken as it left: the free slot goes to the next in line.
          if (index >= 0) this.slotWaiters.splice(index, 1);
          else if (this.generating < numParallel) this.slotWaiters.shift()?.();
          return false;
        }
      }
      this.generating++;
      this.peakGenerating = Math.max(this.peakGenerating, this.generating);
      exchange.holdsSlot = true;
    }
    if (loadDelayMs && !this.isLoaded(model.name)) {
      let load = this.loads.get(model.name);
      if (!load) {
        load = new Promise<void>((resolve) => setTimeout(resolve, loadDelayMs).unref()).then(() => {
          if (this.loads.get(model.name) !== load) return; // reset() meanwhile: a restarted server
          this.loads.delete(model.name);
          this.loaded.set(model.name, { expiresAt: Date.now() + DEFAULT_KEEP_ALIVE_MS, numCtx: contextSize({}, model, this.opts.defaultNumCtx) });
        });
        this.loads.set(model.name, load);
      }
      await this.until(exchange, load);
    }
    return !exchange.closed;
  }

  /** Waits for `event`, or less when the client leaves (or the server stops) first. */
  private until(exchange: Exchange, event: Promise<void>): Promise<void> {
    if (exchange.closed) return Promise.resolve();
    return new Promise<void>((resolve) => {
      exchange.cancelSleep = resolve;
      void event.then(resolve);
    }).finally(() => {
      exchange.cancelSleep = undefined;
    });
  }

  private isLoaded(name: string): boolean {
    return (this.loaded.get(name)?.expiresAt ?? 0) > Date.now();
  }

  /** Same checks, in the same order, as Ollama's handlers: JSON binding, then the model. */
  private validate(
    raw: string,
    parsed: Parsed,
    goType: string,
    fields: readonly FieldSpec[],
  ): { body: Record<string, unknown> & { model: string }; model: FakeModel } | { error: ApiError } {
    if (!parsed.ok) return { error: { status: 400, message: raw.trim() === '' ? 'missing request body' : parsed.error } };
    const body = parsed.value;
    if (!isObject(body)) return { error: badType(body, `Go value of type api.${goType}`) };
    for (const [name, accepts, fieldType] of fields) {
      const value = body[name];
      if (value !== undefined && value !== null && !accepts(value)) {
        return { error: badType(value, `Go struct field ${goType}.${name} of type ${fieldType}`) };
      }
    }
    const bindError = bindRefusal(body, goType);
    if (bindError) return { error: bindError };
    const model = body.model;
    if (typeof model !== 'string' || model === '') return { error: { status: 400, message: 'model is required' } };
    const entry = this.findModel(model);
    if (!entry) {
      return { error: { status: 404, message: `model ${JSON.stringify(model)} not found, try pulling it first` } };
    }
    return { body: { ...body, model }, model: entry };
  }

  /** What the test scripted for this request: a queued answer or reply, `respond`, `reply`; nothing for the default echo. */
  private scripted(req: ChatRequestBody, fault: FakeFault | null): Scripted {
    if (fault?.kind === 'answer') return { answer: fault.answer };
    if (fault?.kind === 'reply') return { text: fault.text, promptEvalCount: fault.promptEvalCount, evalCount: fault.evalCount };
    const answer = this.opts.respond?.(req);
    if (answer?.content !== undefined || (answer?.toolCalls?.length ?? 0) > 0) return { answer };
    return { answer, text: this.opts.reply?.(req) };
  }

  private plan(req: ChatRequestBody, model: FakeModel, shape: Shape, scripted: Scripted, echo: string, promptWords: number): Plan {
    const { answer } = scripted;
    const offered = Array.isArray(req.tools) && req.tools.length > 0;
    const toolCalls: WireToolCall[] = offered
      ? (answer?.toolCalls ?? []).map((call, index) => ({ id: toolCallId(), function: { index, name: call.name, arguments: call.arguments } }))
      : [];
    const text =
      answer?.content ?? (toolCalls.length > 0 ? '' : (scripted.text ?? (hasFormat(req.format) ? formatInstance(req.format) : echo)));
    const thinks = model.capabilities.includes('thinking') && req.think !== false;
    const thinking = thinks ? splitText(answer?.thinking ?? `Considering ${JSON.stringify(lastUserContent(req.messages ?? []))}.`, 'word') : [];
    const all = splitText(text, this.opts.chunkSize ?? 'word');
    // One chunk stands for one token: num_predict stops the generation after that many.
    const numPredict = isObject(req.options) ? req.options.num_predict : undefined;
    const limit = typeof numPredict === 'number' && numPredict > 0 ? numPredict : undefined;
    const chunks = limit !== undefined && all.length > limit ? all.slice(0, limit) : all;
    const logprobs = req.logprobs === true ? (typeof req.top_logprobs === 'number' ? req.top_logprobs : 0) : undefined;
    return {
      doneReason: chunks.length < all.length ? 'length' : 'stop',
      model: req.model,
      modelJson: JSON.stringify(req.model),
      shape,
      chunks,
      thinking,
      toolCalls,
      logprobs,
      rich: thinking.length > 0 || toolCalls.length > 0 || logprobs !== undefined,
      promptEvalCount: scripted.promptEvalCount ?? promptWords,
      evalCount: scripted.evalCount ?? thinking.length + chunks.length + toolCalls.length,
      startedAt: process.hrtime.bigint(),
    };
  }

  /** The model is now loaded, until its `keep_alive` runs out (`/api/ps` lists it). */
  private touch(model: FakeModel, body: Record<string, unknown>): void {
    const seconds = keepAliveSeconds(body.keep_alive);
    if (seconds === 0) this.loaded.delete(model.name);
    else this.loaded.set(model.name, { expiresAt: seconds < 0 ? FOREVER : Date.now() + seconds * 1000, numCtx: contextSize(body, model, this.opts.defaultNumCtx) });
  }

  private respond(exchange: Exchange, plan: Plan, stream: boolean, fault: FakeFault | null): void {
    const reply = stream ? this.streamReply(exchange, plan, fault) : this.wholeReply(exchange, plan, fault);
    reply.catch((error: unknown) => failExchange(exchange, error));
  }

  private async streamReply(exchange: Exchange, plan: Plan, fault: FakeFault | null): Promise<void> {
    const res = exchange.res;
    res.writeHead(200, NDJSON_HEADERS);
    const total = plan.thinking.length + plan.chunks.length + (plan.toolCalls.length > 0 ? 1 : 0);
    const limit = Math.min(total, stopAfter(fault) ?? Infinity);
    const everyDelay = (this.opts.tokenDelayMs ?? 0) + (fault?.kind === 'slow' ? fault.delayMs : 0);
    const firstDelay = everyDelay + (fault?.kind === 'delay_first' ? fault.delayMs : 0);
    const { shape, modelJson } = plan;
    let head = `{"model":${modelJson},"created_at":"${new Date().toISOString()}",${shape.lineOpen}`;
    let pending = '';
    for (let i = 0; i < limit; i++) {
      const delay = i === 0 ? firstDelay : everyDelay;
      if (delay > 0) {
        if (pending !== '') res.write(pending);
        pending = '';
        await this.sleep(exchange, delay);
        if (exchange.closed) return;
        head = `{"model":${modelJson},"created_at":"${new Date().toISOString()}",${shape.lineOpen}`;
      }
      pending += plan.rich ? richLine(plan, i) : `${head}${JSON.stringify(plan.chunks[i])}${shape.lineClose}"done":false}\n`;
    }
    finishStream(exchange, plan, fault, pending);
  }

  private async wholeReply(exchange: Exchange, plan: Plan, fault: FakeFault | null): Promise<void> {
    const perChunk = (this.opts.tokenDelayMs ?? 0) + (fault?.kind === 'slow' ? fault.delayMs : 0);
    const delay = perChunk * plan.chunks.length + (fault?.kind === 'delay_first' ? fault.delayMs : 0);
    if (delay > 0) await this.sleep(exchange, delay);
    if (exchange.closed) return;
    const res = exchange.res;
    switch (fault?.kind) {
      case 'stall_after':
        return; // generation never finishes, so a non-streamed reply never starts
      case 'drop':
        exchange.endedByServer = true;
        return void res.destroy();
      case 'error_line':
        return sendError(res, { status: 500, message: fault.message ?? DEFAULT_ERROR_LINE_MESSAGE });
      case 'malformed':
        return sendText(res, 200, JSON_TYPE, finalJson(plan, true).slice(0, 40));
    }
    sendText(res, 200, JSON_TYPE, finalJson(plan, true));
  }

  private sleep(exchange: Exchange, ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        exchange.cancelSleep = undefined;
        resolve();
      }, ms);
      exchange.cancelSleep = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  private sendLoaded(res: ServerResponse, model: string, shape: Shape): void {
    // Ollama answers an empty chat/prompt by loading the model, always as one JSON object.
    const body = { model, created_at: new Date().toISOString(), ...shape.fields(''), done_reason: 'load', done: true };
    sendJson(res, 200, body);
  }

  private handleShow(res: ServerResponse, raw: string, parsed: Parsed): void {
    if (!parsed.ok) return sendError(res, { status: 400, message: raw.trim() === '' ? 'missing request body' : parsed.error });
    const body = isObject(parsed.value) ? parsed.value : {};
    const name = stringField(body, 'model') || stringField(body, 'name');
    if (!name) return sendError(res, { status: 400, message: 'model is required' });
    const entry = this.findModel(name);
    if (!entry) return sendError(res, { status: 404, message: `model '${name}' not found` });
    sendJson(res, 200, showResponse(entry));
  }

  private handleEmbed(res: ServerResponse, raw: string, parsed: Parsed, legacy: boolean): void {
    if (!parsed.ok) return sendError(res, { status: 400, message: raw.trim() === '' ? 'missing request body' : parsed.error });
    const body = isObject(parsed.value) ? parsed.value : {};
    const goType = legacy ? 'EmbeddingRequest' : 'EmbedRequest';
    for (const [name, accepts, fieldType] of EMBED_FIELDS) {
      const value = body[name];
      if (value !== undefined && value !== null && !accepts(value)) return sendError(res, badType(value, `Go struct field ${goType}.${name} of type ${fieldType}`));
    }
    const name = stringField(body, 'model');
    if (!name) return sendError(res, { status: 400, message: 'model is required' });
    const model = this.findModel(name);
    if (!model) return sendError(res, { status: 404, message: `model ${JSON.stringify(name)} not found, try pulling it first` });
    if (legacy) {
      const prompt = stringField(body, 'prompt');
      if (prompt && !model.capabilities.includes('embedding')) return sendError(res, { status: 400, message: `${registryName(model.name)} does not support embedding` });
      return sendJson(res, 200, { embedding: prompt ? embedVector(prompt, model.embeddingLength) : [] });
    }
    // As EmbedHandler: a string (an empty one is no input), or an array of strings only.
    const input = body.input;
    const texts = typeof input === 'string' ? (input === '' ? [] : [input]) : input === undefined || input === null ? [] : input;
    if (!Array.isArray(texts) || texts.some((t) => typeof t !== 'string')) {
      return sendError(res, { status: 400, message: 'invalid input type' });
    }
    if (texts.length === 0) return sendJson(res, 200, { model: name, embeddings: [] });
    if (!model.capabilities.includes('embedding')) return sendError(res, { status: 400, message: `${registryName(model.name)} does not support embedding` });
    const numCtx = contextSize(body, model, this.opts.defaultNumCtx);
    const counts = (texts as string[]).map((text) => countWords([text]));
    if (body.truncate === false && counts.some((count) => count > numCtx)) {
      return sendError(res, { status: 400, message: 'the input length exceeds the context length' });
    }
    this.touch(model, body);
    const dimensions = typeof body.dimensions === 'number' ? body.dimensions : undefined;
    sendJson(res, 200, {
      model: name,
      embeddings: (texts as string[]).map((text) => embedVector(text, model.embeddingLength, dimensions)),
      total_duration: LOAD_NS + texts.length * PROMPT_TOKEN_NS * 4,
      load_duration: LOAD_NS,
      // An input longer than the context is cut to fit it (truncate defaults to true).
      prompt_eval_count: counts.reduce((sum, count) => sum + Math.min(count, numCtx), 0),
    });
  }

  /** `/api/ps`: the loaded models, the one kept longest first, with the context they were loaded with. */
  private running(): unknown[] {
    const now = Date.now();
    return [...this.loaded.entries()]
      .filter(([, state]) => state.expiresAt > now)
      .sort(([, a], [, b]) => b.expiresAt - a.expiresAt)
      .flatMap(([name, state]) => {
        const model = this.models.get(name);
        if (!model) return [];
        return [{
          name,
          model: name,
          size: model.size,
          digest: model.digest,
          details: modelDetails(model),
          expires_at: new Date(state.expiresAt).toISOString(),
          size_vram: model.size,
          context_length: state.numCtx,
        }];
      });
  }

  private handleHeadBlob(res: ServerResponse, digest: string): void {
    if (!BLOB_DIGEST.test(digest)) return sendError(res, { status: 400, message: 'invalid digest format' });
    if (this.blobs.has(blobFile(digest))) return sendStatus(res, 200);
    sendError(res, { status: 404, message: `blob ${JSON.stringify(digest)} not found` });
  }

  /** Ollama hashes what it receives and keeps it only when the digest in the path matches. */
  private handlePushBlob(res: ServerResponse, digest: string, bytes: Buffer): void {
    if (!BLOB_DIGEST.test(digest)) return sendError(res, { status: 400, message: 'invalid digest format' });
    if (this.blobs.has(blobFile(digest))) return sendStatus(res, 200);
    const actual = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    if (actual !== digest) {
      return sendError(res, { status: 400, message: `digest mismatch, expected ${JSON.stringify(digest)}, got ${JSON.stringify(actual)}` });
    }
    this.blobs.set(blobFile(digest), Buffer.from(bytes));
    sendStatus(res, 201);
  }

  /**
   * `POST /api/create` from an existing model (`from`), with LoRA `adapters`, `system` and
   * `parameters`, in the order and with the messages of Ollama's CreateHandler: the events are
   * worked out first, then sent as NDJSON progress lines (or, with `stream:false`, only the
   * last one). An error before any line goes out keeps its status; after, it is an `{error}` line.
   */
  private handleCreate(res: ServerResponse, raw: string, parsed: Parsed): void {
    if (!parsed.ok) return sendError(res, { status: 400, message: raw.trim() === '' ? 'missing request body' : parsed.error });
    const body = parsed.value;
    if (!isObject(body)) return sendError(res, badType(body, 'Go value of type api.CreateRequest'));
    for (const [name, accepts, goType] of CREATE_FIELDS) {
      const value = body[name];
      if (value !== undefined && value !== null && !accepts(value)) return sendError(res, badType(value, `Go struct field CreateRequest.${name} of type ${goType}`));
    }
    const adapters = body.adapters as Record<string, string> | undefined;
    if (adapters && Object.values(adapters).some((digest) => digest === '')) return sendError(res, { status: 400, message: 'invalid digest format' });
    const name = stringField(body, 'model') || stringField(body, 'name');
    if (!MODEL_NAME.test(name)) return sendError(res, { status: 400, message: 'invalid model name' });
    const events = this.createEvents(normalizeModelName(name), body);
    if (body.stream === false) {
      const failure = events.find((event) => 'error' in event) as CreateFailure | undefined;
      if (failure) return sendError(res, { status: failure.code ?? 500, message: failure.error });
      return sendJson(res, 200, { status: 'success' });
    }
    const first = events[0];
    if ('error' in first) return sendError(res, { status: first.code ?? 500, message: first.error });
    res.writeHead(200, NDJSON_HEADERS);
    res.end(events.map((event) => `${JSON.stringify('error' in event ? { error: event.error } : event)}\n`).join(''));
  }

  private createEvents(name: string, body: Record<string, unknown>): CreateEvent[] {
    const events: CreateEvent[] = [];
    const fail = (error: string, code?: number): CreateEvent[] => [...events, { error, ...(code ? { code } : {}) }];
    const from = stringField(body, 'from');
    if (!from) {
      return body.files ? fail('the fake Ollama creates models from an existing model (from) only', 400) : fail("neither 'from' or 'files' was specified", 400);
    }
    const base = this.findModel(from);
    // Ollama pulls a `from` it does not have; offline, or for a name the registry does not know, the pull fails.
    if (!base) return [{ status: 'pulling manifest' }, { error: 'pull model manifest: file does not exist' }];
    const layers = [`using existing layer sha256:${base.digest}`];
    let size = base.size;

    const adapters = body.adapters as Record<string, string> | undefined;
    if (adapters) {
      const names = Object.keys(adapters).sort();
      const kind = this.adapterKind(adapters);
      if (!kind) return fail('unknown type', 400);
      if (kind === 'gguf') {
        if (names.length > 1) return fail('only one adapter is currently supported', 400);
        events.push({ status: 'parsing GGUF' });
        const digest = adapters[names[0]];
        if (!BLOB_DIGEST.test(digest)) return fail('invalid digest format', 400);
        const blob = this.blobs.get(blobFile(digest));
        if (!blob) return fail(`open /root/.ollama/models/blobs/${blobFile(digest)}: no such file or directory`, 400);
        if (blob.subarray(0, 4).toString('latin1') !== GGUF_MAGIC) return fail('supplied file was not in GGUF format', 400);
        layers.push(`using existing layer ${digest}`);
        size += blob.length;
      } else {
        const hash = createHash('sha256');
        for (const file of names) {
          const digest = adapters[file];
          if (!BLOB_DIGEST.test(digest)) return fail('invalid digest format', 400);
          const blob = this.blobs.get(blobFile(digest));
          if (!blob) return fail(`link /root/.ollama/models/blobs/${blobFile(digest)} /root/.ollama/models/ollama-safetensors/${file}: no such file or directory`, 400);
          hash.update(blob);
          size += blob.length;
        }
        events.push({ status: 'converting adapter' });
        if (!names.includes('adapter_config.json')) return fail('open adapter_config.json: file does not exist', 400);
        layers.push(`creating new layer sha256:${hash.digest('hex')}`);
      }
    }
    const system = stringField(body, 'system');
    if (system) layers.push(`creating new layer sha256:${sha256Hex(system)}`);
    const parameters = isObject(body.parameters) && Object.keys(body.parameters).length > 0 ? body.parameters : undefined;
    if (parameters) layers.push(`creating new layer sha256:${sha256Hex(JSON.stringify(parameters))}`);
    events.push(...layers.map((status) => ({ status })), { status: 'writing manifest' });

    const digest = sha256Hex(`${name}\n${layers.join('\n')}`);
    this.models.set(name, { ...base, name, digest, size });
    this.created.set(name, { name, from, adapters: { ...(adapters ?? {}) }, ...(system ? { system } : {}), ...(parameters ? { parameters } : {}) });
    events.push({ status: 'success' });
    return events;
  }

  /**
   * `POST /api/pull` as Ollama's PullHandler: `pulling manifest`, then each layer's progress
   * (`{status, digest, total, completed}`, `completed` left out while 0 as Go's omitempty does),
   * `verifying sha256 digest`, `writing manifest`, `success`. Only `registry` models can be
   * pulled; any other fails as Ollama offline or for an unknown name does. `stream:false` waits
   * and answers the last line alone, or the error with 500 (Ollama's waitForStream).
   */
  private async handlePull(exchange: Exchange, raw: string, parsed: Parsed): Promise<void> {
    const res = exchange.res;
    if (!parsed.ok) return sendError(res, { status: 400, message: raw.trim() === '' ? 'missing request body' : parsed.error });
    const body = isObject(parsed.value) ? parsed.value : {};
    const name = stringField(body, 'model') || stringField(body, 'name');
    if (!MODEL_NAME.test(name)) return sendError(res, { status: 400, message: 'invalid model name' });
    const spec = (this.opts.registry ?? []).find((candidate) => normalizeModelName(specName(candidate)) === normalizeModelName(name));
    const events: ProgressEvent[] = [{ status: 'pulling manifest' }];
    if (!spec) {
      events.push({ error: 'pull model manifest: file does not exist' });
    } else {
      const model = fakeModel(spec, normalizeModelName(name));
      events.push(...layerProgress('pulling', model.digest, model.size));
      events.push({ status: 'verifying sha256 digest' }, { status: 'writing manifest' }, { status: 'success' });
    }
    // The manifest is written before `success` is said.
    await this.sendProgress(exchange, events, body.stream === false, () => this.models.set(normalizeModelName(name), fakeModel(spec!, normalizeModelName(name))));
  }

  /** `POST /api/push`: `retrieving manifest`, each layer's upload progress, `pushing manifest`, `success`. */
  private async handlePush(exchange: Exchange, raw: string, parsed: Parsed): Promise<void> {
    const res = exchange.res;
    if (!parsed.ok) return sendError(res, { status: 400, message: raw.trim() === '' ? 'missing request body' : parsed.error });
    const body = isObject(parsed.value) ? parsed.value : {};
    const name = stringField(body, 'model') || stringField(body, 'name');
    if (!MODEL_NAME.test(name)) return sendError(res, { status: 400, message: 'invalid model name' });
    const model = this.findModel(name);
    const events: ProgressEvent[] = [{ status: 'retrieving manifest' }];
    if (!model) {
      const [repository, tag = 'latest'] = normalizeModelName(name).split(':');
      events.push({ status: "couldn't retrieve manifest" }, { error: `open /root/.ollama/models/manifests/registry.ollama.ai/library/${repository}/${tag}: no such file or directory` });
    } else {
      events.push(...layerProgress('pushing', model.digest, model.size), { status: 'pushing manifest' }, { status: 'success' });
    }
    await this.sendProgress(exchange, events, body.stream === false);
  }

  /** Progress lines one by one (`progressDelayMs` apart), or with `stream:false` only the outcome. */
  private async sendProgress(exchange: Exchange, events: ProgressEvent[], whole: boolean, onSuccess?: () => void): Promise<void> {
    const res = exchange.res;
    if (whole) {
      const failure = events.find((event) => 'error' in event) as CreateFailure | undefined;
      if (failure) return sendError(res, { status: failure.code ?? 500, message: failure.error });
      onSuccess?.();
      return sendJson(res, 200, events[events.length - 1]);
    }
    res.writeHead(200, NDJSON_HEADERS);
    for (const event of events) {
      if (exchange.closed) return;
      if ('status' in event && event.status === 'success') onSuccess?.();
      res.write(`${JSON.stringify('error' in event ? { error: event.error } : event)}\n`);
      if (this.opts.progressDelayMs) await this.sleep(exchange, this.opts.progressDelayMs);
    }
    if (!exchange.closed) res.end();
  }

  /** `POST /api/copy {source, destination}`: 200 and no body; 404 for a source it does not have. */
  private handleCopy(res: ServerResponse, raw: string, parsed: Parsed): void {
    if (!parsed.ok) return sendError(res, { status: 400, message: raw.trim() === '' ? 'missing request body' : parsed.error });
    const body = isObject(parsed.value) ? parsed.value : {};
    const source = stringField(body, 'source');
    const destination = stringField(body, 'destination');
    if (!source || !destination) return sendError(res, { status: 400, message: 'source and destination are required' });
    if (!MODEL_NAME.test(destination)) return sendError(res, { status: 400, message: `destination "${destination}" is invalid` });
    const model = this.findModel(source);
    if (!model) return sendError(res, { status: 404, message: `model '${source}' not found` });
    const name = normalizeModelName(destination);
    this.models.set(name, { ...model, name });
    sendStatus(res, 200);
  }

  /** `DELETE /api/delete {model}` (or `name`): 200 and no body; 404 for a model it does not have. */
  private handleDelete(res: ServerResponse, raw: string, parsed: Parsed): void {
    if (!parsed.ok) return sendError(res, { status: 400, message: raw.trim() === '' ? 'missing request body' : parsed.error });
    const body = isObject(parsed.value) ? parsed.value : {};
    const name = stringField(body, 'model') || stringField(body, 'name');
    if (!name) return sendError(res, { status: 400, message: 'model is required' });
    if (!this.findModel(name)) return sendError(res, { status: 404, message: `model '${name}' not found` });
    this.models.delete(normalizeModelName(name));
    sendStatus(res, 200);
  }

  /** As Ollama's detectModelTypeFromFiles: by extension, else a GGUF blob by its magic. */
  private adapterKind(adapters: Record<string, string>): 'gguf' | 'safetensors' | undefined {
    for (const [file, digest] of Object.entries(adapters)) {
      if (file.endsWith('.safetensors')) return 'safetensors';
      if (file.endsWith('.gguf')) return 'gguf';
      if (this.blobs.get(blobFile(digest))?.subarray(0, 4).toString('latin1') === GGUF_MAGIC) return 'gguf';
    }
    return undefined;
  }

  private findModel(name: string): FakeModel | undefined {
    return this.models.get(normalizeModelName(name));
  }

  private tags(): unknown[] {
    return [...this.models.values()].map((m) => ({
      name: m.name,
      model: m.name,
      modified_at: MODIFIED_AT,
      size: m.size,
      digest: m.digest,
      details: modelDetails(m),
    }));
  }
}

function applyTransportFault(fault: FakeFault, exchange: Exchange, stream: boolean): boolean {
  const res = exchange.res;
  switch (fault.kind) {
    case 'status':
      sendError(res, { status: fault.status, message: fault.message ?? defaultStatusMessage(fault.status) });
      return true;
    case 'hang':
      return true;
    case 'hang_after_headers':
      res.writeHead(200, stream ? NDJSON_HEADERS : JSON_HEADERS);
      res.flushHeaders();
      return true;
    case 'close_before_answer':
      exchange.endedByServer = true;
      res.destroy();
      return true;
    case 'close_after_headers':
      res.writeHead(200, stream ? NDJSON_HEADERS : JSON_HEADERS);
      // Destroy only once the headers reached the kernel, or the client might never see them.
      res.write('', () => {
        exchange.endedByServer = true;
        res.destroy();
      });
      return true;
    case 'huge_line':
      res.writeHead(200, NDJSON_HEADERS);
      void writeEndlessLine(exchange, '{"model":"mistral","created_at":"2025-06-01T12:00:00Z","message":{"role":"assistant","content":"', fault.bytes);
      return true;
    default:
      return false;
  }
}

/** Writes `head` then filler up to `bytes` in all, in 64 KiB writes that wait for the client to read; no newline. */
async function writeEndlessLine(exchange: Exchange, head: string, bytes: number): Promise<void> {
  const res = exchange.res;
  const filler = 'a'.repeat(64 * 1024);
  let written = 0;
  const write = (text: string): Promise<void> => {
    written += Buffer.byteLength(text);
    if (res.write(text)) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        res.off('drain', done);
        res.off('close', done);
        resolve();
      };
      res.on('drain', done);
      res.on('close', done);
    });
  };
  await write(head);
  while (written < bytes && !exchange.closed) await write(filler.slice(0, Math.min(filler.length, bytes - written)));
}

/** How many content chunks a fault lets through before it strikes; undefined = all. */
function stopAfter(fault: FakeFault | null): number | undefined {
  switch (fault?.kind) {
    case 'stall_after':
    case 'drop':
    case 'malformed':
    case 'error_line':
      return Math.max(0, fault.afterChunks);
    default:
      return undefined;
  }
}

function finishStream(exchange: Exchange, plan: Plan, fault: FakeFault | null, pending: string): void {
  const res = exchange.res;
  switch (fault?.kind) {
    case 'stall_after':
      // Still flush the headers when zero chunks were allowed, so the client sees a started stream.
      return void res.write(pending);
    case 'drop':
      // Destroy only once the chunks reached the kernel, or the client might never see them.
      return void res.write(pending, () => {
        exchange.endedByServer = true;
        res.destroy();
      });
    case 'malformed':
      return void res.end(`${pending}{"model":${plan.modelJson},"created_at":"${new Date().toISOString()}","message":{"ro\n`);
    case 'error_line':
      return void res.end(`${pending}${JSON.stringify({ error: fault.message ?? DEFAULT_ERROR_LINE_MESSAGE })}\n`);
    default:
      res.end(`${pending}${finalJson(plan, false)}\n`);
  }
}

function finalJson(plan: Plan, whole: boolean): string {
  const extra: Extra | undefined = whole ? { thinking: plan.thinking.join(''), toolCalls: plan.toolCalls } : undefined;
  return JSON.stringify({
    model: plan.model,
    created_at: new Date().toISOString(),
    ...plan.shape.fields(whole ? plan.chunks.join('') : '', extra),
    done: true,
    done_reason: plan.doneReason,
    ...(plan.context ? { context: plan.context } : {}),
    ...metrics(plan),
    ...(whole && plan.logprobs !== undefined ? { logprobs: plan.chunks.map((text) => tokenLogprob(text, plan.logprobs)) } : {}),
  });
}

/** Line `i` of an answer with thinking, tool calls or logprobs: thinking chunks, text chunks, then the tool calls. */
function richLine(plan: Plan, i: number): string {
  const thinkingEnd = plan.thinking.length;
  const textEnd = thinkingEnd + plan.chunks.length;
  let fields: Record<string, unknown>;
  let logprobs: unknown[] | undefined;
  if (i < thinkingEnd) fields = plan.shape.fields('', { thinking: plan.thinking[i] });
  else if (i < textEnd) {
    const text = plan.chunks[i - thinkingEnd];
    fields = plan.shape.fields(text);
    if (plan.logprobs !== undefined) logprobs = [tokenLogprob(text, plan.logprobs)];
  } else fields = plan.shape.fields('', { toolCalls: plan.toolCalls });
  const line = { model: plan.model, created_at: new Date().toISOString(), ...fields, done: false, ...(logprobs ? { logprobs } : {}) };
  return `${JSON.stringify(line)}\n`;
}

/** What the test scripted for one answer; `text` is a reply's whole content. */
interface Scripted {
  answer?: FakeAnswer;
  text?: string;
  promptEvalCount?: number;
  evalCount?: number;
}

/** Made-up token ids of a text, one a word (stable: the same word, the same id). */
function tokenIds(text: string): number[] {
  return text.split(/\s+/).filter(Boolean).map((word) => createHash('sha256').update(word).digest().readUInt16BE(0));
}

/** Ollama counts an image as about this many prompt tokens. */
const IMAGE_WORDS = 768;
/** `expires_at` of a model kept loaded forever (negative keep_alive), as Ollama prints it. */
const FOREVER = Date.parse('2318-08-25T00:00:00Z');
/** How long a model stays loaded when the request does not say (Ollama's default keep_alive, 5 minutes). */
const DEFAULT_KEEP_ALIVE_MS = 300_000;

/** The bind-time checks Ollama's JSON decoding makes beyond field types (think, messages, logprobs, format). */
function bindRefusal(body: Record<string, unknown>, goType: string): ApiError | undefined {
  const think = parseThink(body.think);
  if (!think.ok) return { status: 400, message: think.error };
  const messages = Array.isArray(body.messages) ? body.messages : [];
  for (const message of messages) {
    if (!isObject(message)) return badType(message, `Go struct field ${goType}.messages of type api.Message`);
    if (message.content !== undefined && message.content !== null && typeof message.content !== 'string') {
      return badType(message.content, 'Go struct field Message.messages.content of type string');
    }
    const imageError = imagesRefusal(message.images, 'Message.messages.images');
    if (imageError) return imageError;
    for (const call of Array.isArray(message.tool_calls) ? message.tool_calls : []) {
      const args = isObject(call) && isObject(call.function) ? call.function.arguments : undefined;
      if (args !== undefined && args !== null && !isObject(args)) {
        return badType(args, 'Go struct field ToolCallFunction.messages.tool_calls.function.arguments of type api.ToolCallFunctionArguments');
      }
    }
  }
  if (goType === 'GenerateRequest') {
    const imageError = imagesRefusal(body.images, 'GenerateRequest.images');
    if (imageError) return imageError;
  }
  const top = body.top_logprobs;
  if (typeof top === 'number' && (top < 0 || top > 20)) return { status: 400, message: 'top_logprobs must be between 0 and 20' };
  const format = body.format;
  if (format !== undefined && format !== null && format !== '' && format !== 'json' && !isObject(format)) {
    return { status: 400, message: `invalid format: ${JSON.stringify(format)}; expected "json" or a valid JSON schema` };
  }
  return undefined;
}

/** Images are `[]api.ImageData`: base64 strings, no `data:` prefix (Go's decoder says where it broke). */
function imagesRefusal(images: unknown, field: string): ApiError | undefined {
  if (images === undefined || images === null) return undefined;
  if (!Array.isArray(images)) return badType(images, `Go struct field ${field} of type []api.ImageData`);
  for (const image of images) {
    if (typeof image !== 'string') return badType(image, `Go struct field ${field} of type api.ImageData`);
    const error = base64Error(image);
    if (error) return { status: 400, message: error };
  }
  return undefined;
}

/** Ollama's capability checks: completion (its own wording), then the rest together, then thinking. */
function capabilityRefusal(req: { model: string; think?: unknown }, model: FakeModel, route: 'chat' | 'generate', wants: FakeCapability[]): ApiError | undefined {
  if (!model.capabilities.includes('completion')) return { status: 400, message: `${JSON.stringify(req.model)} does not support ${route}` };
  const missing = wants.filter((capability) => !model.capabilities.includes(capability));
  if (missing.length > 0) return { status: 400, message: `${registryName(model.name)} does not support ${missing.join('\n')}` };
  if (req.think !== undefined && req.think !== null && req.think !== false && !model.capabilities.includes('thinking')) {
    return { status: 400, message: `${JSON.stringify(req.model)} does not support thinking` };
  }
  return undefined;
}

/** A model name as Ollama's `model.Name.String()` prints it: host and namespace filled in. */
function registryName(name: string): string {
  const parts = name.split('/');
  if (parts.length === 1) return `registry.ollama.ai/library/${name}`;
  if (parts.length === 2) return `registry.ollama.ai/${name}`;
  return name;
}

/** The context a request runs with: its `num_ctx`, else the Modelfile's, else the default; never above what the model was trained for. */
function contextSize(body: { options?: unknown }, model: FakeModel, defaultNumCtx = DEFAULT_NUM_CTX): number {
  const requested = isObject(body.options) ? body.options.num_ctx : undefined;
  const numCtx = typeof requested === 'number' && requested > 0 ? requested : (model.numCtx ?? defaultNumCtx);
  return Math.min(numCtx, model.contextLength);
}

/**
 * The prompt's size (a word stands for a token) after Ollama's silent chat truncation: the
 * oldest messages go until it fits, except system messages and the last one; what still does
 * not fit is cut by the runner to about half the context.
 */
function fittedPromptWords(messages: ChatMessage[], numCtx: number): number {
  const sizes = messages.map((m) => countWords([m?.content]) + IMAGE_WORDS * (Array.isArray(m?.images) ? m.images.length : 0));
  let total = sizes.reduce((sum, size) => sum + size, 0);
  for (let i = 0; total > numCtx && i < messages.length - 1; i++) {
    if (messages[i]?.role !== 'system') total -= sizes[i];
  }
  return total > numCtx ? Math.floor(numCtx / 2) : total;
}

/** `keep_alive` in seconds: a number, or a Go duration (`5m`, `1h30m`, `-1`); default five minutes. */
function keepAliveSeconds(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value !== 'string' || value === '') return 300;
  const match = /^(-)?(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s)?$/.exec(value);
  if (!match) return /^-?\d+$/.test(value) ? Number(value) : 300;
  const seconds = Number(match[2] ?? 0) * 3600 + Number(match[3] ?? 0) * 60 + Number(match[4] ?? 0);
  return match[1] ? -seconds : seconds;
}

const hasFormat = (format: unknown): boolean => format === 'json' || isObject(format);

/** What constrained decoding yields when the model has nothing else to say: `{}`, or the smallest instance of the schema. */
function formatInstance(format: unknown): string {
  return JSON.stringify(format === 'json' ? {} : minimalInstance(format));
}

function metrics(plan: Plan): Record<string, number> {
  const elapsed = Number(process.hrtime.bigint() - plan.startedAt);
  const promptEval = Math.max(1, plan.promptEvalCount) * PROMPT_TOKEN_NS;
  const evalNs = Math.max(elapsed, Math.max(1, plan.evalCount) * EVAL_TOKEN_NS);
  const all: Record<string, number> = {
    total_duration: LOAD_NS + promptEval + evalNs + 500_000,
    load_duration: LOAD_NS,
    prompt_eval_count: plan.promptEvalCount,
    prompt_eval_duration: promptEval,
    eval_count: plan.evalCount,
    eval_duration: evalNs,
  };
  // Ollama's metric fields are `omitempty`: zero counts are left out rather than sent as 0.
  for (const key of Object.keys(all)) if (all[key] === 0) delete all[key];
  return all;
}

function settleRecord(exchange: Exchange): void {
  const rec = exchange.record;
  if (!rec) return;
  if (exchange.res.writableFinished) rec.completed = true;
  else if (!exchange.endedByServer) rec.aborted = true;
}

function failExchange(exchange: Exchange, error: unknown): void {
  const res = exchange.res;
  if (res.headersSent || exchange.closed) {
    exchange.endedByServer = true;
    res.destroy();
    return;
  }
  sendError(res, { status: 500, message: error instanceof Error ? error.message : String(error) });
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  sendText(res, status, JSON_TYPE, JSON.stringify(body));
}

/** Go's net/http sends Content-Length for small complete bodies rather than chunking them. */
function sendText(res: ServerResponse, status: number, contentType: string, text: string): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(text) }).end(text);
}

function sendError(res: ServerResponse, error: ApiError): void {
  sendJson(res, error.status, { error: error.message });
}

/** Gin's c.Status: the status line and no body. */
function sendStatus(res: ServerResponse, status: number): void {
  res.writeHead(status, { 'content-length': 0 }).end();
}

/** One layer's progress lines, in four steps: first without `completed` (0, left out by omitempty), last with all of it. */
function layerProgress(verb: 'pulling' | 'pushing', hex: string, total: number): ProgressEvent[] {
  const status = `${verb} ${hex.slice(0, 12)}`;
  const digest = `sha256:${hex}`;
  const steps = [1, 2, 3, 4].map((step) => ({ status, digest, total, completed: Math.floor((total * step) / 4) }));
  return [{ status, digest, total }, ...steps];
}

/** Ollama keeps blob `sha256:<hex>` in the file `sha256-<hex>`. */
const blobFile = (digest: string): string => digest.replace(':', '-');

const sha256Hex = (text: string): string => createHash('sha256').update(text).digest('hex');

function defaultStatusMessage(status: number): string {
  return DEFAULT_STATUS_MESSAGES[status] ?? (STATUS_CODES[status] ?? 'error').toLowerCase();
}

function readBody(req: IncomingMessage, done: (bytes: Buffer) => void): void {
  const parts: Buffer[] = [];
  req.on('data', (part: Buffer) => parts.push(part));
  req.on('end', () => done(parts.length === 1 ? parts[0] : Buffer.concat(parts)));
}

function pathOf(url: string | undefined): string {
  if (!url) return '/';
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

function parseJson(raw: string): Parsed {
  try {
    return { ok: true, value: JSON.parse(raw) };
  } catch (error) {
    return { ok: false, error: goJsonError(raw, error) };
  }
}

/** Approximates Go's encoding/json messages, which Ollama passes through verbatim. */
function goJsonError(raw: string, error: unknown): string {
  const message = error instanceof Error ? error.message : '';
  if (raw.trim() === '' || message.includes('end of JSON input')) return 'unexpected EOF';
  const position = /position (\d+)/.exec(message);
  const token = /Unexpected token '?(.)/u.exec(message);
  const char = position ? raw[Number(position[1])] : (token?.[1] ?? raw.trim()[0]);
  if (char === undefined) return 'unexpected EOF';
  return `invalid character '${char}' looking for beginning of value`;
}

function badType(value: unknown, target: string): ApiError {
  return { status: 400, message: `json: cannot unmarshal ${goJsonType(value)} into ${target}` };
}

function goJsonType(value: unknown): string {
  if (Array.isArray(value)) return 'array';
  if (value === null) return 'null';
  if (typeof value === 'boolean') return 'bool';
  return typeof value;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stringField(body: Record<string, unknown>, key: string): string {
  const value = body[key];
  return typeof value === 'string' ? value : '';
}

/** "mistral" and "mistral:latest" name the same model; a registry host's port is not a tag. */
export function normalizeModelName(name: string): string {
  const lastSlash = name.lastIndexOf('/');
  return name.indexOf(':', lastSlash + 1) === -1 ? `${name}:latest` : name;
}

/**
 * One rule of a scripted responder: it answers when every matcher given matches (a string
 * matches when the text contains it). `system` looks at the system message, so a backend can
 * answer differently per system prompt; a request without one never matches a `system` rule.
 */
export interface ScriptRule {
  system?: string | RegExp;
  user?: string | RegExp;
  reply: string | ((req: ChatRequestBody) => string);
}

/**
 * A `reply` function for `FakeOllama` from rules tried in order; no match answers with
 * `fallback` (default: the usual `Echo: <last user message>`). Only the content changes:
 * the wire protocol stays the fake's.
 */
export function scriptedReply(rules: readonly ScriptRule[], fallback?: (req: ChatRequestBody) => string): (req: ChatRequestBody) => string {
  const matches = (matcher: string | RegExp | undefined, text: string | undefined): boolean =>
    matcher === undefined || (text !== undefined && (typeof matcher === 'string' ? text.includes(matcher) : matcher.test(text)));
  return (req) => {
    const messages = req.messages ?? [];
    const system = messages.find((m) => m?.role === 'system')?.content;
    const user = lastUserContent(messages);
    const rule = rules.find((candidate) => matches(candidate.system, typeof system === 'string' ? system : undefined) && matches(candidate.user, user));
    if (!rule) return fallback ? fallback(req) : `Echo: ${user}`;
    return typeof rule.reply === 'string' ? rule.reply : rule.reply(req);
  };
}

function lastUserContent(messages: ChatMessage[]): string {
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i];
    if (m?.role === 'user') return typeof m.content === 'string' ? m.content : '';
  }
  return '';
}

function countWords(texts: ReadonlyArray<unknown>): number {
  let words = 0;
  for (const text of texts) {
    if (typeof text !== 'string') continue;
    const matches = text.match(/\S+/gu);
    words += matches ? matches.length : 0;
  }
  return words;
}

const WORD_CHUNKS = /\s*\S+|\s+/gu;

/** Splits on code points only, so joining the chunks always gives back `text`. */
export function splitText(text: string, chunkSize: 'word' | number): string[] {
  if (chunkSize === 'word') return text.match(WORD_CHUNKS) ?? [];
  const size = Math.max(1, Math.floor(chunkSize));
  const points = Array.from(text);
  const chunks: string[] = [];
  for (let i = 0; i < points.length; i += size) chunks.push(points.slice(i, i + size).join(''));
  return chunks;
}

function modelDetails(model?: FakeModel): Record<string, unknown> {
  const family = model?.architecture ?? 'llama';
  return {
    parent_model: '',
    format: 'gguf',
    family,
    families: [family],
    parameter_size: family === 'bert' ? '137M' : '7.2B',
    quantization_level: family === 'bert' ? 'F16' : 'Q4_0',
  };
}

/** Go's `ollama show` parameter lines: the name padded to 30 columns, then the value. */
const parameterLine = (name: string, value: string): string => `${name.padEnd(30)} ${value}`;

function showResponse(entry: FakeModel): Record<string, unknown> {
  const arch = entry.architecture;
  const parameters: [string, string][] = arch === 'bert' ? [] : [['stop', '[INST]'], ['stop', '[/INST]']];
  if (entry.numCtx !== undefined) parameters.push(['num_ctx', String(entry.numCtx)]);
  const template = arch === 'bert' ? '{{ .Prompt }}' : '{{ if .System }}{{ .System }} {{ end }}[INST] {{ .Prompt }} [/INST]';
  return {
    license: 'Apache License\nVersion 2.0, January 2004',
    modelfile: [
      '# Modelfile generated by "ollama show"',
      '# To build a new Modelfile based on this, replace FROM with:',
      `# FROM ${entry.name}`,
      '',
      `FROM /root/.ollama/models/blobs/sha256-${entry.digest}`,
      `TEMPLATE """${template}"""`,
      ...parameters.map(([name, value]) => `PARAMETER ${name} ${value}`),
      '',
    ].join('\n'),
    parameters: parameters.map(([name, value]) => parameterLine(name, name === 'stop' ? JSON.stringify(value) : value)).join('\n'),
    template,
    details: modelDetails(entry),
    model_info: {
      'general.architecture': arch,
      'general.parameter_count': arch === 'bert' ? 136_727_040 : 7_248_023_552,
      'general.quantization_version': 2,
      [`${arch}.context_length`]: entry.contextLength,
      [`${arch}.embedding_length`]: entry.plain && arch === 'llama' ? 4_096 : entry.embeddingLength,
      [`${arch}.block_count`]: arch === 'bert' ? 12 : 32,
    },
    capabilities: entry.capabilities,
    modified_at: MODIFIED_AT,
  };
}

function noop(): void {}
