import type { ChatRole, ToolCall, ToolDefinition } from '../../core/llm/llm-backend';
import type { StoredAnswer, StoredImage, StoredMessage, StoredRequest } from '../../core/persistence/stored-exchange';

/**
 * An exported `request` or `answer` may hold at most this much JSON: a request carries the whole
 * conversation it was sent with, and with STORE_IMAGES=true its images' bytes (an image of the
 * default IMAGE_MAX_BYTES, 10 MiB, is about 14 MiB of base64), so the bound is generous.
 */
export const MAX_EXCHANGE_JSON_CHARS = 64 * 1024 * 1024;
/** …nested at most this deep (tool arguments, options and schemas are the client's own objects). */
export const MAX_EXCHANGE_DEPTH = 64;

type Fail = (reason: string) => never;
type Fields = Record<string, unknown>;

const ROLES: readonly ChatRole[] = ['system', 'user', 'assistant', 'tool'];
const THINK_LEVELS = ['low', 'medium', 'high', 'max'];
const TOOL_CHOICES = ['auto', 'none', 'required'];

/**
 * The exported `request` (the API's spelling, as `GET /conversations/{id}` and the export write
 * it: see `stored-exchange.mapper.ts`) → the stored request, field by field, each checked.
 * Null or absent → null. A field the store does not know is refused rather than dropped.
 */
export function parseExportedRequest(value: unknown, fail: Fail): StoredRequest | null {
  if (value === undefined || value === null) return null;
  const row = bounded(value, 'request', fail);
  const field = reader(row, 'request', fail, [
    'model', 'messages', 'prompt', 'suffix', 'system', 'template', 'raw', 'context_tokens', 'images', 'input', 'dimensions', 'truncate', 'options', 'tools', 'tool_choice',
    'parallel_tool_calls', 'format', 'think', 'keep_alive', 'logprobs', 'top_logprobs',
  ]);
  const request: StoredRequest = { model: field('model', text, true)! };
  const set = <K extends keyof StoredRequest>(key: K, parsed: StoredRequest[K] | undefined) => {
    if (parsed !== undefined) request[key] = parsed;
  };
  set('messages', field('messages', list(message)));
  set('prompt', field('prompt', text));
  set('suffix', field('suffix', text));
  set('system', field('system', text));
  set('template', field('template', text));
  set('raw', field('raw', flag));
  set('contextTokens', field('context_tokens', count));
  set('images', field('images', list(image)));
  set('input', field('input', list(text)));
  set('dimensions', field('dimensions', count));
  set('truncate', field('truncate', flag));
  set('options', field('options', object));
  set('tools', field('tools', list(tool)));
  set('toolChoice', field('tool_choice', toolChoice));
  set('parallelToolCalls', field('parallel_tool_calls', flag));
  set('format', field('format', format));
  set('think', field('think', think));
  set('keepAlive', field('keep_alive', (v, path, f) => (typeof v === 'string' || typeof v === 'number' ? v : f(`${path} must be a string or a number`))));
  set('logprobs', field('logprobs', flag));
  set('topLogprobs', field('top_logprobs', count));
  return request;
}

/** The exported `answer` → the stored answer, as `parseExportedRequest` does for the request. */
export function parseExportedAnswer(value: unknown, fail: Fail): StoredAnswer | null {
  if (value === undefined || value === null) return null;
  const row = bounded(value, 'answer', fail);
  const field = reader(row, 'answer', fail, ['text', 'thinking', 'tool_calls', 'finish_reason', 'stop_sequence', 'inputs', 'dimensions']);
  const answer: StoredAnswer = {};
  const set = <K extends keyof StoredAnswer>(key: K, parsed: StoredAnswer[K] | undefined) => {
    if (parsed !== undefined) answer[key] = parsed;
  };
  set('text', field('text', text));
  set('thinking', field('thinking', text));
  set('toolCalls', field('tool_calls', list(toolCall)));
  set('finishReason', field('finish_reason', text));
  set('stopSequence', field('stop_sequence', text));
  set('inputs', field('inputs', count));
  set('dimensions', field('dimensions', count));
  return answer;
}

type Parse<T> = (value: unknown, path: string, fail: Fail) => T;

/** Reads the fields of an object: each known one through its parser, an unknown one refused. */
function reader(row: Fields, path: string, fail: Fail, known: readonly string[]) {
  for (const key of Object.keys(row)) {
    if (!known.includes(key)) fail(`${path}.${key} is not a field Vega stores (expected one of ${known.join(', ')})`);
  }
  return <T>(key: string, parse: Parse<T>, required = false): T | undefined => {
    const value = row[key];
    if (value === undefined) return required ? fail(`${path}.${key} is required`) : undefined;
    return parse(value, `${path}.${key}`, fail);
  };
}

/** The top of a request or answer: an object within the size and depth bounds. */
function bounded(value: unknown, path: string, fail: Fail): Fields {
  const row = object(value, path, fail);
  if (depth(row, MAX_EXCHANGE_DEPTH) > MAX_EXCHANGE_DEPTH) fail(`${path} is nested deeper than ${MAX_EXCHANGE_DEPTH} levels`);
  if (JSON.stringify(row).length > MAX_EXCHANGE_JSON_CHARS) fail(`${path} is larger than ${MAX_EXCHANGE_JSON_CHARS / 1024 / 1024} MiB of JSON`);
  return row;
}

/** How deep objects and arrays nest in `value`, counting no further than `limit + 1`. */
function depth(value: unknown, limit: number): number {
  if (value === null || typeof value !== 'object') return 0;
  if (limit < 0) return 1;
  let deepest = 0;
  for (const item of Object.values(value)) {
    deepest = Math.max(deepest, depth(item, limit - 1));
    if (deepest > limit) break;
  }
  return deepest + 1;
}

const text: Parse<string> = (v, path, fail) => (typeof v === 'string' ? v : fail(`${path} must be a string`));
const flag: Parse<boolean> = (v, path, fail) => (typeof v === 'boolean' ? v : fail(`${path} must be true or false`));
const count: Parse<number> = (v, path, fail) => (Number.isSafeInteger(v) && (v as number) >= 0 ? (v as number) : fail(`${path} must be a whole number ≥ 0`));
const object: Parse<Fields> = (v, path, fail) => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Fields) : fail(`${path} must be an object`));

function list<T>(item: Parse<T>): Parse<T[]> {
  return (v, path, fail) => (Array.isArray(v) ? v.map((entry, index) => item(entry, `${path}.${index}`, fail)) : fail(`${path} must be an array`));
}

function oneOf<T extends string>(allowed: readonly string[]): Parse<T> {
  return (v, path, fail) => (typeof v === 'string' && allowed.includes(v) ? (v as T) : fail(`${path} must be one of ${allowed.join(', ')}`));
}

const message: Parse<StoredMessage> = (v, path, fail) => {
  const field = reader(object(v, path, fail), path, fail, ['role', 'content', 'images', 'thinking', 'tool_calls', 'tool_call_id', 'tool_name']);
  const stored: StoredMessage = { role: field('role', oneOf<ChatRole>(ROLES), true)!, content: field('content', text, true)! };
  const images = field('images', list(image));
  const thinking = field('thinking', text);
  const toolCalls = field('tool_calls', list(toolCall));
  const toolCallId = field('tool_call_id', text);
  const toolName = field('tool_name', text);
  if (images !== undefined) stored.images = images;
  if (thinking !== undefined) stored.thinking = thinking;
  if (toolCalls !== undefined) stored.toolCalls = toolCalls;
  if (toolCallId !== undefined) stored.toolCallId = toolCallId;
  if (toolName !== undefined) stored.toolName = toolName;
  return stored;
};

/** An image reference, kept as exported (its bytes too, when they were stored). */
const image: Parse<StoredImage> = (v, path, fail) => {
  const row = object(v, path, fail);
  const field = reader(row, path, fail, ['mime', 'bytes', 'sha256', 'data']);
  field('mime', text, true);
  field('bytes', count, true);
  const sha256 = field('sha256', text, true)!;
  if (!/^[0-9a-f]{64}$/.test(sha256)) fail(`${path}.sha256 must be a hex SHA-256 (64 lower-case hex digits)`);
  field('data', text);
  return row as unknown as StoredImage;
};

const toolCall: Parse<ToolCall> = (v, path, fail) => {
  const field = reader(object(v, path, fail), path, fail, ['id', 'name', 'arguments']);
  return { id: field('id', text, true)!, name: field('name', text, true)!, arguments: field('arguments', object, true)! };
};

/** A tool definition is the client's own code: kept as exported once its fields are checked. */
const tool: Parse<ToolDefinition> = (v, path, fail) => {
  const row = object(v, path, fail);
  const field = reader(row, path, fail, ['name', 'description', 'parameters']);
  field('name', text, true);
  field('description', text);
  field('parameters', object);
  return row as unknown as ToolDefinition;
};

const toolChoice: Parse<StoredRequest['toolChoice']> = (v, path, fail) => {
  if (typeof v === 'string' && TOOL_CHOICES.includes(v)) return v as 'auto' | 'none' | 'required';
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return fail(`${path} must be one of ${TOOL_CHOICES.join(', ')} or {"name": …}`);
  const field = reader(v as Fields, path, fail, ['name']);
  return { name: field('name', text, true)! };
};

const format: Parse<StoredRequest['format']> = (v, path, fail) => {
  if (v === 'json') return v;
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return fail(`${path} must be "json" or {"schema": …}`);
  const field = reader(v as Fields, path, fail, ['schema', 'name', 'strict']);
  field('schema', object, true);
  field('name', text);
  field('strict', flag);
  return v as StoredRequest['format'];
};

const think: Parse<StoredRequest['think']> = (v, path, fail) =>
  typeof v === 'boolean' || (typeof v === 'string' && THINK_LEVELS.includes(v))
    ? (v as StoredRequest['think'])
    : fail(`${path} must be true, false or one of ${THINK_LEVELS.join(', ')}`);
