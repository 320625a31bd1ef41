import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { z } from 'zod';
import { InvalidInputError } from '../../common/errors/app-errors';

/**
 * `training/config.yaml`, the one file `vega train` reads: which model to fine-tune (its
 * Hugging Face id for the trainer, and the same model in Ollama for registration), where the
 * examples come from, where the bundle goes, and the LoRA and training hyper-parameters.
 * Keys are snake_case as in the trainers' own configs; unknown keys are refused (a typo such
 * as `learning_rat` must not silently fall back to a default).
 */

/** The trainer dataset formats: each maps to one Axolotl dataset type. */
export const TRAINING_FORMATS = ['chat', 'sharegpt', 'alpaca'] as const;
export type TrainingFormat = (typeof TRAINING_FORMATS)[number];

export const DATASET_SOURCES = ['file', 'directory'] as const;
export const QUANTIZATIONS = ['none', '4bit', '8bit'] as const;

const needed = (message: string) => ({ error: (issue: { input?: unknown }) => (issue.input === undefined ? 'is required' : message) });
const mapping = () => needed('must be a mapping of keys to values');

const text = (message: string) => z.string(needed(message)).trim().min(1, { error: message });
const int = (min: number, max: number) => {
  const message = `must be an integer between ${min} and ${max}`;
  return z.number(needed(message)).int({ error: message }).min(min, { error: message }).max(max, { error: message });
};
const num = (min: number, max: number, message = `must be a number between ${min} and ${max}`) =>
  z.number(needed(message)).min(min, { error: message }).max(max, { error: message });
const oneOf = <T extends readonly [string, ...string[]]>(values: T) => z.enum(values, needed(`must be one of ${values.join(', ')}`));

/** A Hugging Face id (`org/name`) or a local directory the trainer reads; no spaces. */
const HF_MODEL = /^\S+$/;
/** An Ollama model name: `name`, `name:tag`, `namespace/name:tag`, `host:port/ns/name:tag`. */
export const OLLAMA_MODEL = /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,199}$/;
const MODULE_NAME = /^[A-Za-z_][A-Za-z0-9_.]*$/;
const TEMPLATE_NAME = /^[a-z0-9_]+$/;
const PARAMETER_NAME = /^[a-z_][a-z0-9_]*$/;

const trainingConfigSchema = z.strictObject(
  {
    base_model: z.strictObject(
      {
        hf: text('must be a Hugging Face model id such as Qwen/Qwen2.5-1.5B-Instruct').regex(HF_MODEL, { error: 'must be a Hugging Face model id without spaces' }),
        ollama: text('must be an Ollama model name such as qwen2.5:1.5b-instruct').regex(OLLAMA_MODEL, { error: 'must be an Ollama model name such as qwen2.5:1.5b-instruct' }),
      },
      mapping(),
    ),
    dataset: z.strictObject(
      {
        source: oneOf(DATASET_SOURCES),
        path: text('must be a path (relative to the config file)'),
        format: oneOf(TRAINING_FORMATS).default('chat'),
      },
      mapping(),
    ),
    output_dir: text('must be a directory path (relative to the config file)'),
    chat_template: text('must be an Axolotl chat template name').regex(TEMPLATE_NAME, { error: 'must be an Axolotl chat template name such as tokenizer_default, chatml or llama3' }).default('tokenizer_default'),
    lora: z
      .strictObject(
        {
          r: int(1, 1024).default(16),
          alpha: int(1, 4096).default(32),
          dropout: num(0, 0.99, 'must be a number from 0 to 0.99').default(0.05),
          target_modules: z
            .union([z.literal('all-linear'), z.array(z.string().regex(MODULE_NAME), { error: 'must be a list of module names' }).min(1, { error: 'must list at least one module' })], {
              error: (issue) => (issue.input === undefined ? 'is required' : 'must be "all-linear" or a list of module names such as [q_proj, v_proj]'),
            })
            .default('all-linear'),
        },
        mapping(),
      )
      .prefault({}),
    training: z
      .strictObject(
        {
          epochs: int(1, 100).default(3),
          learning_rate: z
            .number(needed('must be a number greater than 0 and at most 1'))
            .gt(0, { error: 'must be a number greater than 0 and at most 1' })
            .max(1, { error: 'must be a number greater than 0 and at most 1' })
            .default(0.0002),
          batch_size: int(1, 1024).default(2),
          gradient_accumulation_steps: int(1, 1024).default(4),
          max_seq_length: int(128, 131072).default(2048),
          quantization: oneOf(QUANTIZATIONS).default('none'),
          val_set_size: num(0, 0.5).default(0),
          seed: int(0, 2 ** 31 - 1).default(42),
        },
        mapping(),
      )
      .prefault({}),
    register: z
      .strictObject(
        {
          name: text('must be an Ollama model name such as vega-tuned').regex(OLLAMA_MODEL, { error: 'must be an Ollama model name such as vega-tuned' }).default('vega-tuned'),
          system_prompt_file: text('must be a path (relative to the config file)').optional(),
          parameters: z
            .record(z.string().regex(PARAMETER_NAME, { error: 'parameter names are lower-case words such as temperature' }), z.union([z.number(), z.string(), z.boolean()], { error: 'must be a number, text or true/false' }), mapping())
            .default({}),
        },
        mapping(),
      )
      .prefault({}),
  },
  { error: 'the file must be a YAML mapping (key: value lines)' },
);

type ParsedConfig = z.output<typeof trainingConfigSchema>;

/** The validated configuration, with every path made absolute (relative paths are relative to the config file). */
export interface TrainingConfig extends Omit<ParsedConfig, 'output_dir' | 'dataset' | 'register'> {
  /** The config file itself (absolute). */
  file: string;
  output_dir: string;
  dataset: ParsedConfig['dataset'];
  register: ParsedConfig['register'];
}

/** Reads and validates the YAML file; every problem is reported at once, each naming its field. */
export async function loadTrainingConfig(path: string): Promise<TrainingConfig> {
  const file = resolve(path);
  let source: string;
  try {
    source = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new InvalidInputError(code === 'ENOENT' ? `training config ${path} not found` : `cannot read training config ${path}: ${(error as Error).message}`);
  }
  return parseTrainingConfig(source, file);
}

/** Validates YAML text; `file` (absolute) anchors the relative paths and names the file in errors. */
export function parseTrainingConfig(source: string, file: string): TrainingConfig {
  let value: unknown;
  try {
    value = parseYaml(source, { prettyErrors: true, uniqueKeys: true });
  } catch (error) {
    const message = error instanceof YAMLParseError ? error.message.split('\n')[0].replace(/:$/, '') : (error as Error).message;
    throw new InvalidInputError(`${file} is not valid YAML: ${message}`);
  }
  const parsed = trainingConfigSchema.safeParse(value ?? undefined);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(describeIssue);
    throw new InvalidInputError(`invalid training config ${file}: ${problems.join('; ')}`);
  }
  const base = dirname(file);
  const config = parsed.data;
  return {
    ...config,
    file,
    output_dir: resolve(base, config.output_dir),
    dataset: { ...config.dataset, path: resolve(base, config.dataset.path) },
    register: { ...config.register, ...(config.register.system_prompt_file ? { system_prompt_file: resolve(base, config.register.system_prompt_file) } : {}) },
  };
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const where = issue.path.map(String).join('.');
  if (issue.code === 'unrecognized_keys') {
    const keys = issue.keys.map((key) => (where ? `${where}.${key}` : key));
    return `unknown key${keys.length > 1 ? 's' : ''} ${keys.join(', ')}`;
  }
  if (issue.code === 'invalid_key') return `${where}: parameter names are lower-case words such as temperature or top_k`;
  return where ? `${where} ${issue.message}` : issue.message;
}
