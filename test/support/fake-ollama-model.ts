import { createHash, randomBytes } from 'node:crypto';

/**
 * What the fake Ollama knows of its models and how it makes up what a real model would say:
 * capabilities, context sizes, tool-call ids, logprobs, embeddings and the minimal JSON that
 * satisfies a `format` schema. Kept apart from the server so the wire code stays readable.
 */

export type FakeCapability = 'completion' | 'tools' | 'insert' | 'vision' | 'embedding' | 'thinking';

/** A model of the fake: a name (capabilities `['completion']`, or `['embedding']` when it has "embed" in it) or a full spec. */
export type FakeModelSpec =
  | string
  | {
      name: string;
      capabilities?: FakeCapability[];
      /** The context it was trained for: `/api/show` `model_info["<arch>.context_length"]`. */
      contextLength?: number;
      /** `PARAMETER num_ctx` of its Modelfile: the context a request gets when it sets none. */
      numCtx?: number;
      /** Length of its embedding vectors (default 8). */
      embeddingLength?: number;
    };

/**
 * What the model answers. Thinking is sent only when the model thinks (capability `thinking`
 * and `think` not false), tool calls only when the request offered tools, as a real model.
 */
export interface FakeAnswer {
  content?: string;
  thinking?: string;
  toolCalls?: { name: string; arguments: Record<string, unknown> }[];
}

export interface FakeModel {
  name: string;
  digest: string;
  size: number;
  capabilities: FakeCapability[];
  architecture: string;
  contextLength: number;
  numCtx?: number;
  embeddingLength: number;
  /** Declared as a plain name: `/api/show` answers exactly as it always did. */
  plain: boolean;
}

/** Ollama's context when neither the request nor the Modelfile sets one (a GPU under 24 GiB). */
export const DEFAULT_NUM_CTX = 4096;
const LLAMA_CONTEXT = 32_768;
const BERT_CONTEXT = 2048;

export function fakeModel(spec: FakeModelSpec, name: string): FakeModel {
  const digest = createHash('sha256').update(name).digest('hex');
  const plain = typeof spec === 'string';
  const embedder = plain ? /embed/i.test(name) : (spec.capabilities ?? []).includes('embedding');
  const capabilities: FakeCapability[] = plain ? [embedder ? 'embedding' : 'completion'] : (spec.capabilities ?? ['completion']);
  const architecture = embedder && !capabilities.includes('completion') ? 'bert' : 'llama';
  return {
    name,
    digest,
    size: embedder ? 274_302_450 : 4_113_301_824,
    capabilities,
    architecture,
    contextLength: (plain ? undefined : spec.contextLength) ?? (architecture === 'bert' ? BERT_CONTEXT : LLAMA_CONTEXT),
    numCtx: plain ? undefined : spec.numCtx,
    embeddingLength: (plain ? undefined : spec.embeddingLength) ?? 8,
    plain,
  };
}

export const specName = (spec: FakeModelSpec): string => (typeof spec === 'string' ? spec : spec.name);

/** `call_` and 8 random `[a-z0-9]`, as Ollama names the calls it parses out of a model's output. */
export function toolCallId(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  return `call_${Array.from(randomBytes(8), (byte) => alphabet[byte % alphabet.length]).join('')}`;
}

/** `think` as Ollama's ThinkValue reads it; an error message for a value it refuses. */
export function parseThink(value: unknown): { ok: true; value: boolean | string | undefined } | { ok: false; error: string } {
  if (value === undefined || value === null || typeof value === 'boolean') return { ok: true, value: value ?? undefined };
  if (typeof value === 'string') {
    if (['low', 'medium', 'high', 'max'].includes(value)) return { ok: true, value };
    return { ok: false, error: `invalid think value: ${JSON.stringify(value)} (must be "high", "medium", "low", "max", true, or false)` };
  }
  return { ok: false, error: 'think must be a boolean or string ("high", "medium", "low", "max", true, or false)' };
}

export interface FakeLogprob {
  token: string;
  logprob: number;
  bytes: number[];
  top_logprobs?: { token: string; logprob: number; bytes: number[] }[];
}

/** A deterministic log probability for a token: the sampled token is always the likeliest. */
export function tokenLogprob(token: string, top: number | undefined): FakeLogprob {
  const logprob = -(createHash('sha256').update(token).digest().readUInt16BE(0) % 1000) / 1000;
  const entry: FakeLogprob = { token, logprob, bytes: [...Buffer.from(token, 'utf8')] };
  if (top && top > 0) {
    entry.top_logprobs = Array.from({ length: top }, (_, i) => {
      const alternative = i === 0 ? token : `${token}~${i}`;
      return { token: alternative, logprob: logprob - i, bytes: [...Buffer.from(alternative, 'utf8')] };
    });
  }
  return entry;
}

/** A deterministic L2-normalised vector for `text`, cut to `dimensions` and normalised again. */
export function embedVector(text: string, length: number, dimensions?: number): number[] {
  const raw: number[] = [];
  for (let block = 0; raw.length < length; block++) {
    const hash = createHash('sha256').update(block === 0 ? text : `${block}:${text}`).digest();
    for (let i = 0; i < 8 && raw.length < length; i++) raw.push(hash.readInt32BE(i * 4) / 2 ** 31);
  }
  const kept = dimensions && dimensions > 0 && dimensions < raw.length ? raw.slice(0, dimensions) : raw;
  const norm = Math.hypot(...kept) || 1;
  return kept.map((x) => x / norm);
}

type Schema = Record<string, unknown>;

/**
 * The smallest JSON value valid against `schema` (what constrained decoding with nothing to say
 * would give): required properties only, first enum value or `anyOf` branch, minimum lengths.
 */
export function minimalInstance(schema: unknown, root: unknown = schema, depth = 0): unknown {
  if (depth > 32 || typeof schema !== 'object' || schema === null) return {};
  const s = schema as Schema;
  if (typeof s.$ref === 'string') return minimalInstance(resolveRef(root, s.$ref), root, depth + 1);
  if ('const' in s) return s.const;
  if (Array.isArray(s.enum) && s.enum.length > 0) return s.enum[0];
  for (const key of ['anyOf', 'oneOf'] as const) {
    const branches = s[key];
    if (Array.isArray(branches) && branches.length > 0) return minimalInstance(branches[0], root, depth + 1);
  }
  if (Array.isArray(s.allOf)) {
    return Object.assign({}, ...s.allOf.map((part) => minimalInstance(part, root, depth + 1) as object));
  }
  const type = Array.isArray(s.type) ? (s.type.find((t) => t !== 'null') ?? s.type[0]) : s.type;
  switch (type) {
    case 'string':
      return 'a'.repeat(typeof s.minLength === 'number' ? s.minLength : 0);
    case 'integer':
    case 'number': {
      if (typeof s.minimum === 'number') return type === 'integer' ? Math.ceil(s.minimum) : s.minimum;
      if (typeof s.exclusiveMinimum === 'number') return Math.floor(s.exclusiveMinimum) + 1;
      if (typeof s.maximum === 'number' && s.maximum < 0) return type === 'integer' ? Math.floor(s.maximum) : s.maximum;
      return 0;
    }
    case 'boolean':
      return false;
    case 'null':
      return null;
    case 'array': {
      const count = typeof s.minItems === 'number' ? s.minItems : 0;
      return Array.from({ length: count }, () => minimalInstance(s.items ?? {}, root, depth + 1));
    }
    default: {
      const properties = (typeof s.properties === 'object' && s.properties !== null ? s.properties : {}) as Record<string, unknown>;
      const required = Array.isArray(s.required) ? (s.required as string[]) : [];
      return Object.fromEntries(required.map((key) => [key, minimalInstance(properties[key] ?? {}, root, depth + 1)]));
    }
  }
}

function resolveRef(root: unknown, ref: string): unknown {
  if (!ref.startsWith('#')) return {};
  let node: unknown = root;
  for (const part of ref.slice(1).split('/').filter(Boolean)) {
    node = typeof node === 'object' && node !== null ? (node as Record<string, unknown>)[part.replace(/~1/g, '/').replace(/~0/g, '~')] : undefined;
  }
  return node ?? {};
}

/** Go's base64 decoder error for a string that is not standard base64, or undefined when it is. */
export function base64Error(text: string): string | undefined {
  const match = /[^A-Za-z0-9+/=]/.exec(text);
  if (match) return `illegal base64 data at input byte ${match.index}`;
  if (text.length % 4 !== 0) return `illegal base64 data at input byte ${text.length - (text.length % 4)}`;
  return undefined;
}
