import type { CancelSignal } from '../../common/async/cancellation';

/**
 * The exchange model every route speaks to the backends in. It is a superset of what the
 * dialects carry (OpenAI chat, Ollama's own API, and later Anthropic Messages): each route maps
 * its wire format onto these types and back, and each backend adapter maps them onto its
 * server. A field an adapter cannot honour is refused with a 400 naming it
 * (`BackendCapabilityError`), never dropped.
 */

export type ChatRole = 'system' | 'user' | 'assistant' | 'tool';

/** An image given with a message: the bytes as base64 (no `data:` prefix), their type and digest. */
export interface ImageInput {
  /** `image/png`, `image/jpeg`, `image/gif` or `image/webp`, sniffed from the bytes. */
  mime: string;
  /** Base64 of the bytes, as Ollama's `images[]` wants it. */
  data: string;
  /** Size of the decoded bytes. */
  bytes: number;
  /** Hex SHA-256 of the decoded bytes: the cache key and the stored reference use it. */
  sha256: string;
}

/** A function call the model asked for. */
export interface ToolCall {
  /** `call_…`; Ollama makes one up, OpenAI-compatible servers send theirs. */
  id: string;
  name: string;
  /** The arguments as an object (Ollama's shape; the OpenAI dialect carries them as a JSON string). */
  arguments: Record<string, unknown>;
}

export interface ChatMessage {
  role: ChatRole;
  /** The text; may be empty (an assistant turn that only called tools). */
  content: string;
  /** Images with a user message. */
  images?: ImageInput[];
  /** The assistant's reasoning, when a client sends an earlier turn back with it. */
  thinking?: string;
  /** The calls an assistant turn made. */
  toolCalls?: ToolCall[];
  /** A `tool` message: the id of the call it answers. */
  toolCallId?: string;
  /** A `tool` message: the name of the function that produced it. */
  toolName?: string;
}

/** A function the model may call; `parameters` is a JSON Schema of type object. */
export interface ToolDefinition {
  name: string;
  description?: string;
  parameters?: Record<string, unknown>;
}

/**
 * OpenAI's `tool_choice`, the common denominator: let the model decide, forbid calls, demand one
 * call of any tool, or demand a call of the named one.
 */
export type ToolChoice = 'auto' | 'none' | 'required' | { name: string };

/** Constrained output: any JSON object, or JSON valid against a schema. */
export type OutputFormat = 'json' | { schema: Record<string, unknown>; name?: string; strict?: boolean };

/** Ollama's `think`: on/off, or an effort level. */
export type ThinkSetting = boolean | 'low' | 'medium' | 'high' | 'max';

export interface BackendChatRequest {
  model: string;
  messages: ChatMessage[];
  /** Backend generation options (Ollama `options`: temperature, top_p, num_predict, num_ctx…). */
  options: Record<string, unknown>;
  tools?: ToolDefinition[];
  /** Absent means `auto`. */
  toolChoice?: ToolChoice;
  /** false: at most one tool call per answer (OpenAI `parallel_tool_calls: false`). */
  parallelToolCalls?: boolean;
  format?: OutputFormat;
  think?: ThinkSetting;
  /** Ollama `keep_alive`: a duration string (`5m`) or seconds. */
  keepAlive?: string | number;
  logprobs?: boolean;
  /** 0–20; only with `logprobs`. */
  topLogprobs?: number;
}

export interface TopLogprob {
  token: string;
  logprob: number;
  bytes?: number[] | null;
}

export interface TokenLogprob extends TopLogprob {
  topLogprobs?: TopLogprob[];
}

export interface BackendUsage {
  promptTokens: number;
  completionTokens: number;
}

/** Ollama's timings of one generation, in nanoseconds (absent from other backends). */
export interface BackendTimings {
  totalNs?: number;
  loadNs?: number;
  promptEvalNs?: number;
  evalNs?: number;
}

/**
 * What a backend stream yields: answer text, reasoning text and tool calls as they come (a
 * tool call is always whole), then one `done`. `doneReason` is the backend's own (`stop`,
 * `length`, `tool_calls`…).
 */
export type BackendChunk =
  | { type: 'token'; text: string; logprobs?: TokenLogprob[] }
  | { type: 'thinking'; text: string }
  | { type: 'tool_call'; call: ToolCall }
  | { type: 'done'; usage: BackendUsage; doneReason?: string; timings?: BackendTimings; context?: number[] };

/** A capability a model has, as Ollama's `/api/show` names them. */
export type ModelCapability = 'completion' | 'tools' | 'insert' | 'vision' | 'embedding' | 'thinking' | 'image' | 'audio';

export interface BackendModel {
  name: string;
  size?: number;
  modifiedAt?: string;
  family?: string;
  parameterSize?: string;
  quantization?: string;
}

/** What the backend tells about one model (Ollama `/api/show`); fields it does not know are absent. */
export interface ModelDetails {
  name: string;
  capabilities?: ModelCapability[];
  /** The context window the model was trained for (`model_info["<arch>.context_length"]`). */
  contextLength?: number;
  /** `num_ctx` from the model's own parameters (Modelfile), when it sets one. */
  numCtx?: number;
  /**
   * The context its loaded runner was given (Ollama `/api/ps` `context_length`), when it is
   * loaded: what a request that sets no `num_ctx` gets, whatever decided it (the server's
   * OLLAMA_CONTEXT_LENGTH, or its choice by the GPU's memory).
   */
  loadedNumCtx?: number;
}

export interface EmbedRequest {
  model: string;
  input: string[];
  /** Shorten each vector to this many dimensions (models that support it). */
  dimensions?: number;
  /** false: an input longer than the context is an error instead of being cut. */
  truncate?: boolean;
  keepAlive?: string | number;
  options?: Record<string, unknown>;
}

export interface EmbedResult {
  embeddings: number[][];
  /** Tokens read (Ollama `prompt_eval_count`); 0 when the backend does not say. */
  promptTokens: number;
  /** Ollama's timings of the call (total and load), in nanoseconds; absent from other backends. */
  timings?: Pick<BackendTimings, 'totalNs' | 'loadNs'>;
}

/** A JSON object exactly as an Ollama server wrote it (relayed by Vega's own Ollama routes). */
export type OllamaJson = Record<string, unknown>;

/**
 * What the Ollama targets say of their models, in Ollama's own JSON, for Vega's Ollama routes to
 * relay: every Ollama target is asked, not only the first that answers (any of them may serve a
 * model).
 */
export interface OllamaHosts {
  /** `/api/ps` of every host that answers, each model once, the one kept longest first (as Ollama sorts). */
  running(signal: AbortSignal): Promise<OllamaJson[]>;
  /** `/api/show` from the first host, in order, that has the model; `ModelNotFoundError` (Ollama's message) when none has. */
  show(request: { model: string; verbose?: boolean }, signal: AbortSignal): Promise<OllamaJson>;
}

/**
 * A raw completion of a prompt (Ollama `/api/generate`, OpenAI `/completions`). The final
 * `done` chunk may carry `context` (Ollama, not in raw mode): the token ids to continue from.
 */
export interface BackendCompletionRequest {
  model: string;
  prompt: string;
  /** Text after the insertion point (fill-in-the-middle; models with the `insert` capability). */
  suffix?: string;
  /** Ollama `system`: replaces the Modelfile's system prompt in the template. */
  system?: string;
  /** Ollama `template`: replaces the Modelfile's prompt template. */
  template?: string;
  /** Ollama `raw`: the prompt goes to the model as is, without any template. */
  raw?: boolean;
  /** Ollama's (deprecated) `context`: the token ids an earlier answer returned, to continue from. */
  context?: number[];
  /** Images with the prompt (models with the `vision` capability). */
  images?: ImageInput[];
  options: Record<string, unknown>;
  format?: OutputFormat;
  think?: ThinkSetting;
  keepAlive?: string | number;
  logprobs?: boolean;
  topLogprobs?: number;
}

/**
 * The port every model backend implements (Ollama, an OpenAI-compatible server). Adapters throw
 * the app errors of `common/errors` and mark transient ones `retryable`; they never retry or
 * time out on their own — `LlmService` owns that policy — but must stop and free the connection
 * as soon as `signal` aborts, rethrowing `signal.reason`.
 */
export abstract class LlmBackend {
  abstract readonly kind: string;
  abstract chatStream(request: BackendChatRequest, signal: CancelSignal): AsyncIterable<BackendChunk>;
  /** A raw completion of a prompt (no chat template of messages): the same chunks as a chat, never tool calls. */
  abstract completionStream(request: BackendCompletionRequest, signal: CancelSignal): AsyncIterable<BackendChunk>;
  abstract listModels(signal?: AbortSignal): Promise<BackendModel[]>;
  /** What the backend knows of one model; `ModelNotFoundError` when it has none of that name. */
  abstract showModel(model: string, signal?: AbortSignal): Promise<ModelDetails>;
  abstract version(signal?: AbortSignal): Promise<string>;
  /** One embedding vector per input text, in input order. */
  abstract embed(request: EmbedRequest, signal?: AbortSignal): Promise<EmbedResult>;
  /** Releases connections (graceful shutdown). */
  abstract close(): Promise<void>;
}
