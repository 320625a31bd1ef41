import { createHash } from 'node:crypto';
import { createServer, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

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
  | { kind: 'reply'; text: string; promptEvalCount?: number; evalCount?: number };

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
  models?: string[];
  version?: string;
  reply?: (req: ChatRequestBody) => string;
  tokenDelayMs?: number;
  chunkSize?: 'word' | number;
  /** Store every request in `requests` (default true). Turn off for benchmarks. */
  record?: boolean;
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

interface ModelEntry {
  name: string;
  digest: string;
  size: number;
}

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
}

type Parsed = { ok: true; value: unknown } | { ok: false; error: string };
type ApiError = { status: number; message: string };
type FieldSpec = readonly [name: string, accepts: (value: unknown) => boolean, goType: string];

const isString = (value: unknown): boolean => typeof value === 'string';
const isBoolean = (value: unknown): boolean => typeof value === 'boolean';
const CHAT_FIELDS: readonly FieldSpec[] = [
  ['model', isString, 'string'],
  ['messages', Array.isArray, '[]api.Message'],
  ['stream', isBoolean, 'bool'],
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
const GENERATE_FIELDS: readonly FieldSpec[] = [
  ['model', isString, 'string'],
  ['prompt', isString, 'string'],
  ['stream', isBoolean, 'bool'],
];

/** What differs between /api/chat and /api/generate output. */
interface Shape {
  readonly lineOpen: string;
  readonly lineClose: string;
  fields(content: string): Record<string, unknown>;
}

const CHAT_SHAPE: Shape = {
  lineOpen: '"message":{"role":"assistant","content":',
  lineClose: '},',
  fields: (content) => ({ message: { role: 'assistant', content } }),
};

const GENERATE_SHAPE: Shape = {
  lineOpen: '"response":',
  lineClose: ',',
  fields: (content) => ({ response: content }),
};

interface Plan {
  readonly modelJson: string;
  readonly model: string;
  readonly shape: Shape;
  readonly chunks: string[];
  readonly promptEvalCount: number;
  readonly evalCount: number;
  readonly startedAt: bigint;
  /** `length` when `options.num_predict` cut the reply short, as Ollama reports it. */
  readonly doneReason: 'stop' | 'length';
}

export class FakeOllama {
  private readonly opts: FakeOllamaOptions;
  private readonly models = new Map<string, ModelEntry>();
  /** Uploaded blobs by file name (`sha256-<hex>`, as Ollama stores them). */
  private readonly blobs = new Map<string, Buffer>();
  private readonly created = new Map<string, CreatedModel>();
  private readonly recorded: RecordedRequest[] = [];
  private readonly recordedChats: RecordedRequest[] = [];
  private readonly faults: FakeFault[] = [];
  private readonly open = new Set<Exchange>();
  private readonly waiters = new Set<() => void>();
  private defaultFault: FakeFault | null = null;
  private chatsInFlight = 0;
  private server: Server | undefined;
  private stopping: Promise<void> | undefined;
  private baseUrl = '';

  constructor(opts: FakeOllamaOptions = {}) {
    this.opts = opts;
    for (const name of opts.models ?? ['mistral']) {
      const full = normalizeModelName(name);
      const digest = createHash('sha256').update(full).digest('hex');
      this.models.set(full, { name: full, digest, size: 4_113_301_824 });
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

  reset(): void {
    this.recorded.length = 0;
    this.recordedChats.length = 0;
    this.faults.length = 0;
    this.defaultFault = null;
  }

  inFlight(): number {
    return this.chatsInFlight;
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
    if (path === '/api/ps' && method === 'GET') return sendJson(res, 200, { models: [] });
    if (path.startsWith(BLOB_PATH) && method === 'HEAD') return this.handleHeadBlob(res, path.slice(BLOB_PATH.length));
    if (path.startsWith(BLOB_PATH) && method === 'POST') return this.handlePushBlob(res, path.slice(BLOB_PATH.length), bytes);
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
    const req = checked.body as ChatRequestBody;
    if (!req.messages || req.messages.length === 0) return this.sendLoaded(exchange.res, req.model, CHAT_SHAPE);

    const replyFault = fault?.kind === 'reply' ? fault : undefined;
    const text = replyFault?.text ?? this.opts.reply?.(req) ?? `Echo: ${lastUserContent(req.messages)}`;
    const promptWords = countWords(req.messages.map((m) => m?.content));
    const numPredict = isObject(req.options) ? req.options.num_predict : undefined;
    const limit = typeof numPredict === 'number' && numPredict > 0 ? numPredict : undefined;
    this.respond(exchange, this.plan(req.model, CHAT_SHAPE, text, promptWords, replyFault, limit), stream, fault);
  }

  private handleGenerate(exchange: Exchange, raw: string, parsed: Parsed): void {
    const checked = this.validate(raw, parsed, 'GenerateRequest', GENERATE_FIELDS);
    if ('error' in checked) return sendError(exchange.res, checked.error);
    const req = checked.body as ChatRequestBody & { prompt?: string };
    const prompt = req.prompt ?? '';
    if (prompt === '') return this.sendLoaded(exchange.res, req.model, GENERATE_SHAPE);
    const text = this.opts.reply?.({ ...req, messages: [{ role: 'user', content: prompt }] }) ?? `Echo: ${prompt}`;
    this.respond(exchange, this.plan(req.model, GENERATE_SHAPE, text, countWords([prompt])), req.stream !== false, null);
  }

  /** Same checks, in the same order, as Ollama's handlers: JSON binding, then the model. */
  private validate(
    raw: string,
    parsed: Parsed,
    goType: string,
    fields: readonly FieldSpec[],
  ): { body: Record<string, unknown> & { model: string } } | { error: ApiError } {
    if (!parsed.ok) return { error: { status: 400, message: raw.trim() === '' ? 'missing request body' : parsed.error } };
    const body = parsed.value;
    if (!isObject(body)) return { error: badType(body, `Go value of type api.${goType}`) };
    for (const [name, accepts, fieldType] of fields) {
      const value = body[name];
      if (value !== undefined && !accepts(value)) {
        return { error: badType(value, `Go struct field ${goType}.${name} of type ${fieldType}`) };
      }
    }
    const model = body.model;
    if (typeof model !== 'string' || model === '') return { error: { status: 400, message: 'model is required' } };
    if (!this.findModel(model)) {
      return { error: { status: 404, message: `model ${JSON.stringify(model)} not found, try pulling it first` } };
    }
    return { body: { ...body, model } };
  }

  private plan(
    model: string,
    shape: Shape,
    text: string,
    promptWords: number,
    replyFault?: { promptEvalCount?: number; evalCount?: number },
    numPredict?: number,
  ): Plan {
    const all = splitText(text, this.opts.chunkSize ?? 'word');
    // One chunk stands for one token: num_predict stops the generation after that many.
    const chunks = numPredict !== undefined && all.length > numPredict ? all.slice(0, numPredict) : all;
    return {
      doneReason: chunks.length < all.length ? 'length' : 'stop',
      model,
      modelJson: JSON.stringify(model),
      shape,
      chunks,
      promptEvalCount: replyFault?.promptEvalCount ?? promptWords,
      evalCount: replyFault?.evalCount ?? chunks.length,
      startedAt: process.hrtime.bigint(),
    };
  }

  private respond(exchange: Exchange, plan: Plan, stream: boolean, fault: FakeFault | null): void {
    const reply = stream ? this.streamReply(exchange, plan, fault) : this.wholeReply(exchange, plan, fault);
    reply.catch((error: unknown) => failExchange(exchange, error));
  }

  private async streamReply(exchange: Exchange, plan: Plan, fault: FakeFault | null): Promise<void> {
    const res = exchange.res;
    res.writeHead(200, NDJSON_HEADERS);
    const limit = Math.min(plan.chunks.length, stopAfter(fault) ?? Infinity);
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
      pending += `${head}${JSON.stringify(plan.chunks[i])}${shape.lineClose}"done":false}\n`;
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
        return sendText(res, 200, JSON_TYPE, finalJson(plan, plan.chunks.join('')).slice(0, 40));
    }
    sendText(res, 200, JSON_TYPE, finalJson(plan, plan.chunks.join('')));
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
    const model = stringField(body, 'model');
    if (!model) return sendError(res, { status: 400, message: 'model is required' });
    if (!this.findModel(model)) {
      return sendError(res, { status: 404, message: `model ${JSON.stringify(model)} not found, try pulling it first` });
    }
    if (legacy) {
      const prompt = stringField(body, 'prompt');
      return sendJson(res, 200, { embedding: prompt ? embedVector(prompt) : [] });
    }
    const input = body.input;
    const texts = typeof input === 'string' ? [input] : input === undefined ? [] : input;
    if (!Array.isArray(texts) || texts.some((t) => typeof t !== 'string')) {
      return sendError(res, { status: 400, message: 'invalid input type' });
    }
    const nonEmpty = (texts as string[]).filter((t) => t !== '');
    sendJson(res, 200, {
      model,
      embeddings: nonEmpty.map(embedVector),
      total_duration: LOAD_NS + nonEmpty.length * PROMPT_TOKEN_NS * 4,
      load_duration: LOAD_NS,
      prompt_eval_count: countWords(nonEmpty),
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
    this.models.set(name, { name, digest, size });
    this.created.set(name, { name, from, adapters: { ...(adapters ?? {}) }, ...(system ? { system } : {}), ...(parameters ? { parameters } : {}) });
    events.push({ status: 'success' });
    return events;
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

  private findModel(name: string): ModelEntry | undefined {
    return this.models.get(normalizeModelName(name));
  }

  private tags(): unknown[] {
    return [...this.models.values()].map((m) => ({
      name: m.name,
      model: m.name,
      modified_at: MODIFIED_AT,
      size: m.size,
      digest: m.digest,
      details: modelDetails(),
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
      res.end(`${pending}${finalJson(plan, '')}\n`);
  }
}

function finalJson(plan: Plan, content: string): string {
  return JSON.stringify({
    model: plan.model,
    created_at: new Date().toISOString(),
    ...plan.shape.fields(content),
    done: true,
    done_reason: plan.doneReason,
    ...metrics(plan),
  });
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

function embedVector(text: string): number[] {
  const hash = createHash('sha256').update(text).digest();
  const raw = Array.from({ length: 8 }, (_, i) => hash.readInt32BE(i * 4) / 2 ** 31);
  const norm = Math.hypot(...raw) || 1;
  return raw.map((x) => x / norm);
}

function modelDetails(): Record<string, unknown> {
  return {
    parent_model: '',
    format: 'gguf',
    family: 'llama',
    families: ['llama'],
    parameter_size: '7.2B',
    quantization_level: 'Q4_0',
  };
}

function showResponse(entry: ModelEntry): Record<string, unknown> {
  return {
    license: 'Apache License\nVersion 2.0, January 2004',
    modelfile: [
      '# Modelfile generated by "ollama show"',
      '# To build a new Modelfile based on this, replace FROM with:',
      `# FROM ${entry.name}`,
      '',
      `FROM /root/.ollama/models/blobs/sha256-${entry.digest}`,
      'TEMPLATE """{{ if .System }}{{ .System }} {{ end }}[INST] {{ .Prompt }} [/INST]"""',
      'PARAMETER stop [INST]',
      'PARAMETER stop [/INST]',
      '',
    ].join('\n'),
    parameters: 'stop                           "[INST]"\nstop                           "[/INST]"',
    template: '{{ if .System }}{{ .System }} {{ end }}[INST] {{ .Prompt }} [/INST]',
    details: modelDetails(),
    model_info: {
      'general.architecture': 'llama',
      'general.parameter_count': 7_248_023_552,
      'general.quantization_version': 2,
      'llama.context_length': 32_768,
      'llama.embedding_length': 4_096,
      'llama.block_count': 32,
    },
    capabilities: ['completion'],
    modified_at: MODIFIED_AT,
  };
}

function noop(): void {}
