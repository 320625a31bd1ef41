import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { STRATEGY_NAMES, StrategyName, TargetSettings } from './routing-settings';

/**
 * `BACKENDS_FILE`: the model servers behind Vega, in YAML. Every key is checked; a key that is
 * not known, a value of the wrong type, a duplicate name or an alias that loops is named with
 * its path (`targets[1].max_concurrency`), all at once.
 *
 * ```yaml
 * strategy: loaded-first
 * targets:
 *   - name: gpu-1
 *     kind: ollama
 *     url: http://10.0.0.5:11434
 *     max_concurrency: 4
 *   - name: vllm
 *     kind: openai
 *     url: http://10.0.0.7:8000/v1
 *     api_key_env: VLLM_API_KEY
 *     models: [qwen2.5:32b]
 * aliases: { default: llama3.3:70b, fast: llama3.2 }
 * fallbacks: { llama3.3:70b: [qwen2.5:32b, llama3.2] }
 * ```
 */
export interface BackendsFile {
  strategy?: StrategyName;
  targets: TargetSettings[];
  aliases: Record<string, string>;
  fallbacks: Record<string, string[]>;
}

const seconds = z.number({ error: 'must be a number of seconds' }).positive({ error: 'must be a number of seconds above 0' }).max(86_400, {
  error: 'must be at most 86400 seconds',
});
const modelName = z.string({ error: 'must be a model name' }).trim().min(1, { error: 'must be a model name' });

const targetSchema = z.strictObject({
  name: z
    .string({ error: 'must be a name' })
    .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/, { error: 'must be 1-64 letters, digits, dots, colons, dashes or underscores' }),
  kind: z.enum(['ollama', 'openai'], { error: "must be 'ollama' or 'openai'" }),
  url: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }),
  api_key: z.string({ error: 'must be a string' }).min(1, { error: 'must not be empty' }).optional(),
  api_key_env: z.string({ error: 'must name an environment variable' }).regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: 'must name an environment variable' }).optional(),
  weight: z.number({ error: 'must be a number' }).positive({ error: 'must be above 0' }).max(1_000_000, { error: 'must be at most 1000000' }).default(1),
  max_concurrency: z.number({ error: 'must be an integer' }).int({ error: 'must be an integer' }).min(0, { error: 'must be 0 (no limit) or more' }).max(100_000).default(0),
  models: z.array(modelName, { error: 'must be a list of model names' }).optional(),
  timeouts: z
    .strictObject({ total_sec: seconds.optional(), first_token_sec: seconds.optional(), idle_sec: seconds.optional() }, { error: 'must be a mapping' })
    .optional(),
});

const fileSchema = z.strictObject(
  {
    strategy: z.enum(STRATEGY_NAMES as [StrategyName, ...StrategyName[]], { error: `must be one of ${STRATEGY_NAMES.join(', ')}` }).optional(),
    targets: z.array(targetSchema, { error: 'must be a list of targets' }).min(1, { error: 'must list at least one target' }),
    aliases: z.record(modelName, modelName, { error: 'must map names to models' }).default({}),
    fallbacks: z.record(modelName, z.array(modelName, { error: 'must be a list of model names' }).min(1, { error: 'must list at least one model' }), { error: 'must map models to lists of models' }).default({}),
  },
  { error: 'must be a mapping with targets' },
);

export class BackendsFileError extends Error {
  override readonly name = 'BackendsFileError';
}

/** Reads and checks the file at `path`; `env` gives the keys that `api_key_env` names. */
export function readBackendsFile(path: string, env: NodeJS.ProcessEnv): BackendsFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new BackendsFileError(`BACKENDS_FILE ${path} cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  return parseBackendsFile(text, path, env);
}

export function parseBackendsFile(text: string, path: string, env: NodeJS.ProcessEnv): BackendsFile {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (error) {
    throw new BackendsFileError(`BACKENDS_FILE ${path} is not valid YAML: ${(error as Error).message.split('\n')[0]}`);
  }
  const parsed = fileSchema.safeParse(raw ?? {});
  // The schema's problems and those between entries (names, keys, aliases) are named together.
  const problems = parsed.success
    ? []
    : parsed.error.issues.flatMap((issue) => {
        if (issue.code === 'unrecognized_keys') return issue.keys.map((key) => `${at([...issue.path, key])}: unknown key`);
        return [`${at(issue.path)}: ${issue.message}`];
      });
  problems.push(...relationProblems(raw, env));
  if (!parsed.success || problems.length > 0) throw invalid(path, problems);
  const file = parsed.data;
  const targets = file.targets.map((target): TargetSettings => {
    const apiKey = target.api_key ?? (target.api_key_env ? env[target.api_key_env] : undefined);
    const timeouts = target.timeouts && {
      ...(target.timeouts.total_sec ? { totalMs: Math.round(target.timeouts.total_sec * 1000) } : {}),
      ...(target.timeouts.first_token_sec ? { firstTokenMs: Math.round(target.timeouts.first_token_sec * 1000) } : {}),
      ...(target.timeouts.idle_sec ? { idleMs: Math.round(target.timeouts.idle_sec * 1000) } : {}),
    };
    return {
      name: target.name,
      kind: target.kind,
      url: target.url.replace(/\/+$/, ''),
      ...(apiKey ? { apiKey } : {}),
      weight: target.weight,
      maxConcurrency: target.max_concurrency,
      ...(target.models ? { models: target.models } : {}),
      ...(timeouts ? { timeouts } : {}),
    };
  });
  return { strategy: file.strategy, targets, aliases: file.aliases, fallbacks: file.fallbacks };
}

/**
 * The problems between entries, read from the file as it is (so that they are named beside the
 * schema's): a name used twice, an api key where none belongs or one named and not set, an alias
 * that loops, a model listed as its own fallback. Entries of the wrong shape are left to the schema.
 */
function relationProblems(raw: unknown, env: NodeJS.ProcessEnv): string[] {
  const problems: string[] = [];
  const file = isMapping(raw) ? raw : {};
  const names = new Set<string>();
  (Array.isArray(file.targets) ? file.targets : []).forEach((target: unknown, index) => {
    if (!isMapping(target)) return;
    if (typeof target.name === 'string') {
      if (names.has(target.name)) problems.push(`targets[${index}].name: '${target.name}' is used by an earlier target`);
      names.add(target.name);
    }
    const hasKey = target.api_key !== undefined;
    const keyEnv = typeof target.api_key_env === 'string' ? target.api_key_env : undefined;
    if (hasKey && keyEnv) problems.push(`targets[${index}]: give api_key or api_key_env, not both`);
    if (target.kind === 'ollama' && (hasKey || keyEnv)) problems.push(`targets[${index}]: an ollama target takes no api key`);
    else if (keyEnv && !hasKey && !env[keyEnv]) problems.push(`targets[${index}].api_key_env: ${keyEnv} is not set`);
  });
  const aliases = isMapping(file.aliases) ? file.aliases : {};
  for (const alias of Object.keys(aliases)) {
    const seen = [alias];
    for (let next = aliases[alias]; typeof next === 'string' && Object.hasOwn(aliases, next); next = aliases[next]) {
      if (seen.includes(next)) {
        problems.push(`aliases.${alias}: loops (${[...seen, next].join(' → ')})`);
        break;
      }
      seen.push(next);
    }
  }
  for (const [model, chain] of Object.entries(isMapping(file.fallbacks) ? file.fallbacks : {})) {
    if (Array.isArray(chain) && chain.includes(model)) problems.push(`fallbacks.${model}: lists the model itself`);
  }
  return problems;
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function invalid(path: string, problems: string[]): BackendsFileError {
  return new BackendsFileError(`BACKENDS_FILE ${path} is invalid: ${problems.join('; ')}`);
}

/** `targets[1].max_concurrency`, as a reader finds it in the file. */
function at(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(top level)';
  return path.map((part, index) => (typeof part === 'number' ? `[${part}]` : index === 0 ? String(part) : `.${String(part)}`)).join('');
}
