import { InvalidInputError } from '../../common/errors/app-errors';
import type { OutputFormat, ThinkSetting, ToolDefinition } from '../../core/llm/llm-backend';

/**
 * Reading Ollama's native request bodies (`/api/chat`, `/api/generate`) with Ollama's own
 * refusals: a field of the wrong JSON type is Go's binding error (`json: cannot unmarshal number
 * into Go struct field ChatRequest.stream of type bool`), the checks after binding use Ollama's
 * wording (`model is required`, `top_logprobs must be between 0 and 20`). Unknown fields are
 * ignored, as Ollama ignores them. Where Ollama answers 500 (an option of the wrong type) Vega
 * answers 400: it is the client's input.
 */

type Json = Record<string, unknown>;

/** The fields both routes share, read and checked. */
export interface NativeCommon {
  model: string;
  stream: boolean;
  options: Json;
  format?: OutputFormat;
  think?: ThinkSetting;
  keepAlive?: string | number;
  logprobs?: boolean;
  topLogprobs?: number;
}

/** A message of `/api/chat` as the client sent it (images still base64 text). */
export interface NativeMessage {
  role: 'system' | 'user' | 'assistant' | 'tool';
  content: string;
  thinking?: string;
  images?: string[];
  toolCalls?: { id?: string; name: string; arguments: Json }[];
  toolName?: string;
  toolCallId?: string;
}

export interface NativeChat extends NativeCommon {
  messages: NativeMessage[];
  tools?: ToolDefinition[];
}

export interface NativeGenerate extends NativeCommon {
  prompt: string;
  suffix?: string;
  system?: string;
  template?: string;
  raw?: boolean;
  context?: number[];
  images?: string[];
}

const ROLES = new Set(['system', 'user', 'assistant', 'tool']);
const THINK_LEVELS = new Set(['low', 'medium', 'high', 'max']);
/** Go's duration syntax (`5m`, `1h30m`, `-1s`, `300ms`), as `keep_alive` takes it. */
const DURATION = /^[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|ms|s|m|h)(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|ms|s|m|h))*$/;
const INTEGER_OPTIONS = ['num_keep', 'seed', 'num_predict', 'draft_num_predict', 'top_k', 'repeat_last_n', 'num_ctx', 'num_batch', 'num_gpu', 'main_gpu', 'num_thread'];
const FLOAT_OPTIONS = ['top_p', 'min_p', 'typical_p', 'temperature', 'repeat_penalty', 'presence_penalty', 'frequency_penalty'];
const BOOL_OPTIONS = ['use_mmap', 'numa', 'low_vram', 'f16_kv', 'vocab_only', 'use_mlock', 'penalize_newline'];

export function readChat(body: unknown): NativeChat {
  const json = object(body, 'Go value of type api.ChatRequest');
  field(json, 'messages', Array.isArray, 'ChatRequest', '[]api.Message');
  field(json, 'tools', Array.isArray, 'ChatRequest', 'api.Tools');
  const common = readCommon(json, 'ChatRequest');
  const messages = ((json.messages as unknown[] | undefined) ?? []).map(readMessage);
  const tools = json.tools === undefined || json.tools === null ? undefined : (json.tools as unknown[]).map(readTool);
  return { ...common, messages, ...(tools && tools.length > 0 ? { tools } : {}) };
}

export function readGenerate(body: unknown): NativeGenerate {
  const json = object(body, 'Go value of type api.GenerateRequest');
  for (const name of ['prompt', 'suffix', 'system', 'template']) field(json, name, isString, 'GenerateRequest', 'string');
  field(json, 'raw', isBoolean, 'GenerateRequest', 'bool');
  field(json, 'context', (value) => Array.isArray(value) && value.every((item) => Number.isInteger(item)), 'GenerateRequest', '[]int');
  field(json, 'images', Array.isArray, 'GenerateRequest', '[]api.ImageData');
  const common = readCommon(json, 'GenerateRequest');
  const generate: NativeGenerate = { ...common, prompt: (json.prompt as string | undefined) ?? '' };
  for (const name of ['suffix', 'system', 'template'] as const) {
    const value = json[name];
    if (typeof value === 'string') generate[name] = value;
  }
  if (typeof json.raw === 'boolean') generate.raw = json.raw;
  if (Array.isArray(json.context)) generate.context = json.context as number[];
  if (Array.isArray(json.images)) generate.images = images(json.images, 'GenerateRequest.images');
  if (generate.raw && (generate.system || generate.template || generate.context?.length)) {
    throw new InvalidInputError('raw mode does not support template, system, or context');
  }
  return generate;
}

function readCommon(json: Json, goType: string): NativeCommon {
  field(json, 'model', isString, goType, 'string');
  field(json, 'stream', isBoolean, goType, 'bool');
  field(json, 'options', isObject, goType, 'map[string]interface {}');
  field(json, 'logprobs', isBoolean, goType, 'bool');
  field(json, 'top_logprobs', Number.isInteger, goType, 'int');
  field(json, 'truncate', isBoolean, goType, 'bool');
  field(json, 'shift', isBoolean, goType, 'bool');
  const think = readThink(json.think);
  const keepAlive = readKeepAlive(json.keep_alive);
  const format = readFormat(json.format);
  const top = json.top_logprobs as number | undefined;
  if (top !== undefined && top !== null && (top < 0 || top > 20)) throw new InvalidInputError('top_logprobs must be between 0 and 20');
  const model = json.model as string | undefined;
  if (!model) throw new InvalidInputError('model is required');
  const options = (json.options as Json | undefined) ?? {};
  checkOptions(options);
  const common: NativeCommon = { model, stream: json.stream !== false, options };
  if (format !== undefined) common.format = format;
  if (think !== undefined) common.think = think;
  if (keepAlive !== undefined) common.keepAlive = keepAlive;
  if (json.logprobs === true) {
    common.logprobs = true;
    if (typeof top === 'number') common.topLogprobs = top;
  }
  return common;
}

function readMessage(value: unknown, index: number): NativeMessage {
  const message = object(value, 'Go struct field ChatRequest.messages of type api.Message');
  for (const name of ['role', 'content', 'thinking', 'tool_name', 'tool_call_id']) field(message, name, isString, 'Message.messages', 'string');
  field(message, 'tool_calls', Array.isArray, 'Message.messages', '[]api.ToolCall');
  field(message, 'images', Array.isArray, 'Message.messages', '[]api.ImageData');
  const role = ((message.role as string | undefined) ?? '').toLowerCase();
  if (!ROLES.has(role)) {
    throw new InvalidInputError(`messages.${index}.role: ${JSON.stringify(message.role ?? '')} is not a role Vega passes on (system, user, assistant, tool)`);
  }
  const read: NativeMessage = { role: role as NativeMessage['role'], content: (message.content as string | undefined) ?? '' };
  if (typeof message.thinking === 'string' && message.thinking) read.thinking = message.thinking;
  if (Array.isArray(message.images) && message.images.length > 0) read.images = images(message.images, 'Message.messages.images');
  if (Array.isArray(message.tool_calls) && message.tool_calls.length > 0) read.toolCalls = message.tool_calls.map(readToolCall);
  if (typeof message.tool_name === 'string') read.toolName = message.tool_name;
  if (typeof message.tool_call_id === 'string') read.toolCallId = message.tool_call_id;
  return read;
}

function readToolCall(value: unknown): { id?: string; name: string; arguments: Json } {
  const call = object(value, 'Go struct field Message.messages.tool_calls of type api.ToolCall');
  field(call, 'id', isString, 'ToolCall.messages.tool_calls', 'string');
  const fn = object(call.function ?? {}, 'Go struct field ToolCall.messages.tool_calls.function of type api.ToolCallFunction');
  field(fn, 'name', isString, 'ToolCallFunction.messages.tool_calls.function', 'string');
  field(fn, 'arguments', isObject, 'ToolCallFunction.messages.tool_calls.function', 'api.ToolCallFunctionArguments');
  const name = (fn.name as string | undefined) ?? '';
  if (!name) throw new InvalidInputError('messages: a tool call has no function name');
  return { ...(typeof call.id === 'string' && call.id ? { id: call.id } : {}), name, arguments: (fn.arguments as Json | undefined) ?? {} };
}

function readTool(value: unknown): ToolDefinition {
  const tool = object(value, 'Go struct field ChatRequest.tools of type api.Tool');
  field(tool, 'type', isString, 'Tool.tools', 'string');
  const fn = object(tool.function ?? {}, 'Go struct field Tool.tools.function of type api.ToolFunction');
  field(fn, 'name', isString, 'ToolFunction.tools.function', 'string');
  field(fn, 'description', isString, 'ToolFunction.tools.function', 'string');
  field(fn, 'parameters', isObject, 'ToolFunction.tools.function', 'api.ToolFunctionParameters');
  const name = (fn.name as string | undefined) ?? '';
  if (!name) throw new InvalidInputError('tools: a tool has no function name');
  const definition: ToolDefinition = { name };
  if (typeof fn.description === 'string') definition.description = fn.description;
  if (isObject(fn.parameters)) definition.parameters = fn.parameters;
  return definition;
}

/** `[]api.ImageData`: base64 text, as Go's decoder reads it (standard alphabet, padded; no `data:` prefix, no URL). */
function images(values: unknown[], field: string): string[] {
  return values.map((value) => {
    if (typeof value !== 'string') throw bindError(value, `Go struct field ${field} of type api.ImageData`);
    const text = value.replace(/[\r\n]/g, '');
    const bad = /[^A-Za-z0-9+/=]/.exec(text);
    if (bad) throw new InvalidInputError(`illegal base64 data at input byte ${bad.index}`);
    if (text.length % 4 !== 0) throw new InvalidInputError(`illegal base64 data at input byte ${text.length - (text.length % 4)}`);
    return text;
  });
}

function readThink(value: unknown): ThinkSetting | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string') {
    if (THINK_LEVELS.has(value)) return value as ThinkSetting;
    throw new InvalidInputError(`invalid think value: ${JSON.stringify(value)} (must be "high", "medium", "low", "max", true, or false)`);
  }
  throw new InvalidInputError('think must be a boolean or string ("high", "medium", "low", "max", true, or false)');
}

function readKeepAlive(value: unknown): string | number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string') {
    // Ollama takes a bare number in a string as seconds, else a Go duration.
    if (/^-?\d+$/.test(value) || DURATION.test(value)) return value;
    throw new InvalidInputError(`time: invalid duration ${JSON.stringify(value)}`);
  }
  throw new InvalidInputError(`json: cannot unmarshal ${goJsonType(value)} into Go struct field keep_alive of type api.Duration`);
}

function readFormat(value: unknown): OutputFormat | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (value === 'json') return 'json';
  if (isObject(value)) return { schema: value };
  throw new InvalidInputError(`invalid format: ${JSON.stringify(value)}; expected "json" or a valid JSON schema`);
}

/** Ollama's own option types; its 500 for a wrong one is the client's input here, so a 400. */
function checkOptions(options: Json): void {
  for (const [name, value] of Object.entries(options)) {
    if (value === null) continue;
    if (INTEGER_OPTIONS.includes(name) && !(typeof value === 'number' && Number.isInteger(value))) {
      throw new InvalidInputError(`option "${name}" must be of type integer`);
    }
    if (FLOAT_OPTIONS.includes(name) && typeof value !== 'number') throw new InvalidInputError(`option "${name}" must be of type float32`);
    if (BOOL_OPTIONS.includes(name) && typeof value !== 'boolean') throw new InvalidInputError(`option "${name}" must be of type boolean`);
    if (name === 'stop' && !(Array.isArray(value) && value.every(isString))) {
      throw new InvalidInputError('option "stop" must be of type array of strings');
    }
  }
}

/** Whether a sampled answer may be replayed from the cache: only with a seed, or at temperature 0. */
export function cacheable(options: Json): boolean {
  return typeof options.seed === 'number' || options.temperature === 0;
}

function object(value: unknown, target: string): Json {
  if (!isObject(value)) throw bindError(value, target);
  return value;
}

function field(json: Json, name: string, accepts: (value: unknown) => boolean, goType: string, fieldType: string): void {
  const value = json[name];
  if (value !== undefined && value !== null && !accepts(value)) throw bindError(value, `Go struct field ${goType}.${name} of type ${fieldType}`);
}

function bindError(value: unknown, target: string): InvalidInputError {
  return new InvalidInputError(`json: cannot unmarshal ${goJsonType(value)} into ${target}`);
}

function goJsonType(value: unknown): string {
  if (Array.isArray(value)) return 'array';
  if (value === null) return 'null';
  if (typeof value === 'boolean') return 'bool';
  return typeof value;
}

const isString = (value: unknown): boolean => typeof value === 'string';
const isBoolean = (value: unknown): boolean => typeof value === 'boolean';
function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
