import type {
  BackendChatRequest,
  BackendTimings,
  BackendCompletionRequest,
  ChatMessage,
  EmbedRequest,
  ImageInput,
  OutputFormat,
  ThinkSetting,
  ToolCall,
  ToolChoice,
  ToolDefinition,
} from '../llm/llm-backend';

/** What an exchange was: a chat, an embedding call or a raw completion. */
export const EXCHANGE_KINDS = ['chat', 'embedding', 'completion'] as const;
export type ExchangeKind = (typeof EXCHANGE_KINDS)[number];

/**
 * An image as stored: its type, size and digest (enough to tell which image it was), and its
 * bytes as base64 only with `STORE_IMAGES=true` (`ConversationsService` drops them otherwise).
 */
export interface StoredImage {
  mime: string;
  bytes: number;
  sha256: string;
  data?: string;
}

/** A message as stored: as the backend got it, its images as references. */
export type StoredMessage = Omit<ChatMessage, 'images'> & { images?: StoredImage[] };

/**
 * The whole request of an exchange, as the backend was asked (after the route's mapping, the
 * session memory and the system prompt): `messages` for a chat, `prompt`/`suffix` for a
 * completion, `input` for an embedding call. Fields the request did not set are absent.
 */
export interface StoredRequest {
  model: string;
  messages?: StoredMessage[];
  prompt?: string;
  suffix?: string;
  /** A completion's own system prompt and template (Ollama `/api/generate`), and whether it went raw. */
  system?: string;
  template?: string;
  raw?: boolean;
  /** How many token ids of an earlier answer's `context` the completion continued from (not the ids). */
  contextTokens?: number;
  /** A completion's images. */
  images?: StoredImage[];
  input?: string[];
  dimensions?: number;
  truncate?: boolean;
  options?: Record<string, unknown>;
  tools?: ToolDefinition[];
  toolChoice?: ToolChoice;
  parallelToolCalls?: boolean;
  format?: OutputFormat;
  think?: ThinkSetting;
  keepAlive?: string | number;
  logprobs?: boolean;
  topLogprobs?: number;
}

/**
 * The whole answer, as far as it went (an aborted or failed exchange keeps its partial answer).
 * Log probabilities are not kept, and token usage lives in the row's own columns. An embedding
 * call keeps how many inputs it embedded and the vectors' length, never the vectors.
 */
export interface StoredAnswer {
  text?: string;
  thinking?: string;
  toolCalls?: ToolCall[];
  finishReason?: string;
  /** The stop sequence that ended the answer, when Vega watched for them (the answer ends before it). */
  stopSequence?: string;
  inputs?: number;
  dimensions?: number;
}

/** What a chat's answer looks like to the store (`ChatResult` is one). */
export interface ChatAnswerLike {
  response: string;
  thinking?: string;
  toolCalls?: readonly ToolCall[];
  finishReason?: string;
  stopSequence?: string;
}

const image = (input: ImageInput): StoredImage => ({ mime: input.mime, bytes: input.bytes, sha256: input.sha256, data: input.data });

/** The request's generation settings, each only when set (`options` always: it is where num_ctx and the like go). */
function settings(request: Omit<Partial<BackendChatRequest>, 'messages'>): Omit<StoredRequest, 'model' | 'messages'> {
  const stored: Omit<StoredRequest, 'model' | 'messages'> = {};
  if (request.options !== undefined) stored.options = request.options;
  if (request.tools !== undefined) stored.tools = request.tools;
  if (request.toolChoice !== undefined) stored.toolChoice = request.toolChoice;
  if (request.parallelToolCalls !== undefined) stored.parallelToolCalls = request.parallelToolCalls;
  if (request.format !== undefined) stored.format = request.format;
  if (request.think !== undefined) stored.think = request.think;
  if (request.keepAlive !== undefined) stored.keepAlive = request.keepAlive;
  if (request.logprobs !== undefined) stored.logprobs = request.logprobs;
  if (request.topLogprobs !== undefined) stored.topLogprobs = request.topLogprobs;
  return stored;
}

/**
 * A chat request as stored. Images keep their bytes here; the store drops them unless STORE_IMAGES.
 * `watchedStops`: the stop sequences Vega watched for itself rather than send (`PreparedChat.stopSequences`):
 * the client asked for them, so they are kept in `options.stop` as if sent.
 */
export function storedRequest(request: BackendChatRequest, watchedStops?: readonly string[]): StoredRequest {
  const messages = request.messages.map((message): StoredMessage => {
    const stored: StoredMessage = { role: message.role, content: message.content };
    if (message.images?.length) stored.images = message.images.map(image);
    if (message.thinking) stored.thinking = message.thinking;
    if (message.toolCalls?.length) stored.toolCalls = message.toolCalls;
    if (message.toolCallId !== undefined) stored.toolCallId = message.toolCallId;
    if (message.toolName !== undefined) stored.toolName = message.toolName;
    return stored;
  });
  const stored: StoredRequest = { model: request.model, messages, ...settings(request) };
  if (watchedStops?.length) stored.options = { ...stored.options, stop: [...watchedStops] };
  return stored;
}

/** A raw completion request (`/api/generate`, `/v1/completions`) as stored. */
export function storedCompletionRequest(request: BackendCompletionRequest): StoredRequest {
  const { prompt, suffix, model, system, template, raw, context, images } = request;
  const stored: StoredRequest = { model, prompt };
  if (suffix !== undefined) stored.suffix = suffix;
  if (system !== undefined) stored.system = system;
  if (template !== undefined) stored.template = template;
  if (raw !== undefined) stored.raw = raw;
  if (context?.length) stored.contextTokens = context.length;
  if (images?.length) stored.images = images.map(image);
  return { ...stored, ...settings(request) };
}

/** An embedding request as stored: the input texts, not what they become. */
export function storedEmbeddingRequest(request: EmbedRequest): StoredRequest {
  const stored: StoredRequest = { model: request.model, input: request.input };
  if (request.dimensions !== undefined) stored.dimensions = request.dimensions;
  if (request.truncate !== undefined) stored.truncate = request.truncate;
  if (request.keepAlive !== undefined) stored.keepAlive = request.keepAlive;
  if (request.options !== undefined) stored.options = request.options;
  return stored;
}

/** A chat or completion answer as stored: text, reasoning, tool calls and why it ended; no logprobs. */
export function storedAnswer(answer: ChatAnswerLike): StoredAnswer {
  const stored: StoredAnswer = { text: answer.response };
  if (answer.thinking) stored.thinking = answer.thinking;
  if (answer.toolCalls?.length) stored.toolCalls = answer.toolCalls.map(({ id, name, arguments: args }) => ({ id, name, arguments: args }));
  if (answer.finishReason !== undefined) stored.finishReason = answer.finishReason;
  if (answer.stopSequence !== undefined) stored.stopSequence = answer.stopSequence;
  return stored;
}

/** An embedding answer as stored: how many vectors and how long each is, not the vectors. */
export function storedEmbeddingAnswer(result: { embeddings: readonly (readonly number[])[] }): StoredAnswer {
  const dimensions = result.embeddings[0]?.length;
  return { inputs: result.embeddings.length, ...(dimensions !== undefined ? { dimensions } : {}) };
}

/**
 * The words full-text search finds an exchange by besides its prompt and response: the names of
 * the tools offered, called and answered, and every string, number and boolean in the calls'
 * arguments. Null when the exchange has none.
 */
export function toolSearchText(request: StoredRequest | undefined, answer: StoredAnswer | undefined): string | null {
  const words: string[] = [];
  const calls = (toolCalls: readonly ToolCall[] | undefined) => {
    for (const call of toolCalls ?? []) {
      words.push(call.name);
      collectValues(call.arguments, words);
    }
  };
  for (const tool of request?.tools ?? []) words.push(tool.name);
  for (const message of request?.messages ?? []) {
    calls(message.toolCalls);
    if (message.toolName) words.push(message.toolName);
  }
  calls(answer?.toolCalls);
  const text = words.filter((word) => word !== '').join('\n');
  return text === '' ? null : text;
}

function collectValues(value: unknown, into: string[]): void {
  if (typeof value === 'string') into.push(value);
  else if (typeof value === 'number' || typeof value === 'boolean') into.push(String(value));
  else if (Array.isArray(value)) for (const item of value) collectValues(item, into);
  else if (value !== null && typeof value === 'object') for (const item of Object.values(value)) collectValues(item, into);
}

/**
 * Applies the store's policy to a request and its answer: `mask` to every text a person or a
 * tool wrote (message contents and tool results, thinking, tool-call arguments' strings at any
 * depth, prompt, suffix, embedding inputs, the answer's text and thinking), and images reduced
 * to their references unless `keepImages`. Tool definitions are the client's code, not
 * conversation, and stay as given.
 */
export function storablePair(
  request: StoredRequest | undefined,
  answer: StoredAnswer | undefined,
  mask: (text: string) => string,
  keepImages: boolean,
): { request?: StoredRequest; answer?: StoredAnswer } {
  const calls = (toolCalls: ToolCall[]) => toolCalls.map((call) => ({ ...call, arguments: maskValues(call.arguments, mask) as Record<string, unknown> }));
  const result: { request?: StoredRequest; answer?: StoredAnswer } = {};
  if (request) {
    const stored: StoredRequest = { ...request };
    if (request.messages) {
      stored.messages = request.messages.map((message) => {
        const copy: StoredMessage = { ...message, content: mask(message.content) };
        if (message.thinking !== undefined) copy.thinking = mask(message.thinking);
        if (message.toolCalls) copy.toolCalls = calls(message.toolCalls);
        if (message.images) copy.images = message.images.map(({ data, ...ref }) => (keepImages && data !== undefined ? { ...ref, data } : ref));
        return copy;
      });
    }
    if (request.prompt !== undefined) stored.prompt = mask(request.prompt);
    if (request.suffix !== undefined) stored.suffix = mask(request.suffix);
    if (request.system !== undefined) stored.system = mask(request.system);
    if (request.images) stored.images = request.images.map(({ data, ...ref }) => (keepImages && data !== undefined ? { ...ref, data } : ref));
    if (request.input) stored.input = request.input.map(mask);
    result.request = stored;
  }
  if (answer) {
    const stored: StoredAnswer = { ...answer };
    if (answer.text !== undefined) stored.text = mask(answer.text);
    if (answer.thinking !== undefined) stored.thinking = mask(answer.thinking);
    if (answer.toolCalls) stored.toolCalls = calls(answer.toolCalls);
    result.answer = stored;
  }
  return result;
}

function maskValues(value: unknown, mask: (text: string) => string): unknown {
  if (typeof value === 'string') return mask(value);
  if (Array.isArray(value)) return value.map((item) => maskValues(item, mask));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, maskValues(item, mask)]));
  }
  return value;
}

/** The backend's own time for a generation (Ollama's `total_duration`) in ms, when it said. */
export function modelTimeMs(timings: BackendTimings | undefined): number | undefined {
  return timings?.totalNs === undefined ? undefined : Math.round(timings.totalNs / 1e6);
}
