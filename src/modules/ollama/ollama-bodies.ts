import { InvalidInputError } from '../../common/errors/app-errors';
import type { EmbedRequest } from '../../core/llm/llm-backend';

/**
 * The bodies of Ollama's `/api/embed`, legacy `/api/embeddings` and `/api/show`, read as Ollama's handlers
 * read them (unknown fields ignored) and refused with Ollama's own messages: Go's
 * `json: cannot unmarshal <type> into Go struct field <Struct>.<field> of type <type>` for a
 * field of the wrong type, `model is required`, and `invalid input type` for an input that is
 * neither a text nor a list of texts (no token arrays).
 */

type Field = readonly [name: string, accepts: (value: unknown) => boolean, goType: string];

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const isDuration = (value: unknown): boolean => typeof value === 'string' || typeof value === 'number';

const COMMON: readonly Field[] = [
  ['model', (value) => typeof value === 'string', 'string'],
  ['options', isObject, 'map[string]interface {}'],
  ['keep_alive', isDuration, '*api.Duration'],
];
const EMBED_FIELDS: readonly Field[] = [
  ...COMMON,
  ['truncate', (value) => typeof value === 'boolean', '*bool'],
  ['dimensions', (value) => Number.isInteger(value), 'int'],
];
const LEGACY_FIELDS: readonly Field[] = [...COMMON, ['prompt', (value) => typeof value === 'string', 'string']];

/** The texts of a `/api/embed` call, or none (an empty input: Ollama answers `embeddings: []` without the model). */
export type OllamaEmbedCall = { request: EmbedRequest; empty: false } | { model: string; empty: true };

/** `POST /api/embed` `{model, input, truncate?, dimensions?, options?, keep_alive?}`. */
export function embedCallOf(body: unknown): OllamaEmbedCall {
  const fields = checked(body, 'EmbedRequest', EMBED_FIELDS);
  const model = modelOf(fields);
  const input = fields.input;
  const texts = typeof input === 'string' ? (input === '' ? [] : [input]) : input === undefined || input === null ? [] : input;
  if (!Array.isArray(texts) || texts.some((text) => typeof text !== 'string')) throw new InvalidInputError('invalid input type');
  if (texts.length === 0) return { model, empty: true };
  return { empty: false, request: { model, input: texts as string[], ...settings(fields) } };
}

/** `POST /api/embeddings` `{model, prompt, options?, keep_alive?}` (legacy): one text, or none. */
export function legacyEmbedCallOf(body: unknown): OllamaEmbedCall {
  const fields = checked(body, 'EmbeddingRequest', LEGACY_FIELDS);
  const model = modelOf(fields);
  const prompt = typeof fields.prompt === 'string' ? fields.prompt : '';
  if (prompt === '') return { model, empty: true };
  return { empty: false, request: { model, input: [prompt], ...settings(fields) } };
}

const SHOW_FIELDS: readonly Field[] = [
  ['model', (value) => typeof value === 'string', 'string'],
  ['name', (value) => typeof value === 'string', 'string'],
  ['verbose', (value) => typeof value === 'boolean', 'bool'],
];

/** `POST /api/show` `{model, verbose?}` (`name`, the old spelling of `model`, too). */
export function showRequestOf(body: unknown): { model: string; verbose?: boolean } {
  const fields = checked(body, 'ShowRequest', SHOW_FIELDS);
  const model = typeof fields.model === 'string' && fields.model !== '' ? fields.model : typeof fields.name === 'string' ? fields.name : '';
  if (model === '') throw new InvalidInputError('model is required');
  return typeof fields.verbose === 'boolean' ? { model, verbose: fields.verbose } : { model };
}

function checked(body: unknown, struct: string, fields: readonly Field[]): Record<string, unknown> {
  if (body === undefined) throw new InvalidInputError('missing request body');
  if (!isObject(body)) throw new InvalidInputError(`json: cannot unmarshal ${goType(body)} into Go value of type api.${struct}`);
  for (const [name, accepts, type] of fields) {
    const value = body[name];
    if (value !== undefined && value !== null && !accepts(value)) {
      throw new InvalidInputError(`json: cannot unmarshal ${goType(value)} into Go struct field ${struct}.${name} of type ${type}`);
    }
  }
  return body;
}

function modelOf(fields: Record<string, unknown>): string {
  const model = typeof fields.model === 'string' ? fields.model : '';
  if (model === '') throw new InvalidInputError('model is required');
  return model;
}

function settings(fields: Record<string, unknown>): Omit<EmbedRequest, 'model' | 'input'> {
  const settings: Omit<EmbedRequest, 'model' | 'input'> = {};
  if (typeof fields.truncate === 'boolean') settings.truncate = fields.truncate;
  if (typeof fields.dimensions === 'number') settings.dimensions = fields.dimensions;
  if (isObject(fields.options)) settings.options = fields.options;
  if (isDuration(fields.keep_alive)) settings.keepAlive = fields.keep_alive as string | number;
  return settings;
}

/** How Go's encoding/json names a JSON value's type in its errors. */
function goType(value: unknown): string {
  if (Array.isArray(value)) return 'array';
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'boolean') return 'bool';
  return typeof value;
}
