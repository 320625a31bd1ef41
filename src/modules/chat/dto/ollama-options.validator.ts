import { ValidatorConstraint, ValidatorConstraintInterface, ValidationArguments } from 'class-validator';

type Rule = { type: 'number'; min?: number; max?: number; integer?: boolean } | { type: 'boolean' } | { type: 'string[]' };

/** Ollama's documented `options` (Modelfile parameters) with the ranges that make sense. */
export const OLLAMA_OPTIONS: Record<string, Rule> = {
  temperature: { type: 'number', min: 0, max: 2 },
  top_p: { type: 'number', min: 0, max: 1 },
  top_k: { type: 'number', min: 1, integer: true },
  min_p: { type: 'number', min: 0, max: 1 },
  typical_p: { type: 'number', min: 0, max: 1 },
  repeat_penalty: { type: 'number', min: 0, max: 2 },
  presence_penalty: { type: 'number', min: -2, max: 2 },
  frequency_penalty: { type: 'number', min: -2, max: 2 },
  repeat_last_n: { type: 'number', min: -1, integer: true },
  seed: { type: 'number', integer: true },
  num_predict: { type: 'number', min: -2, integer: true },
  draft_num_predict: { type: 'number', min: 0, integer: true },
  num_keep: { type: 'number', min: -1, integer: true },
  num_ctx: { type: 'number', min: 1, integer: true },
  num_batch: { type: 'number', min: 1, integer: true },
  num_gpu: { type: 'number', min: -1, integer: true },
  main_gpu: { type: 'number', min: 0, integer: true },
  num_thread: { type: 'number', min: 0, integer: true },
  penalize_newline: { type: 'boolean' },
  numa: { type: 'boolean' },
  use_mmap: { type: 'boolean' },
  stop: { type: 'string[]' },
};

/** Returns why `options` is invalid, naming the offending key, or null when it is valid. */
export function checkOllamaOptions(options: unknown): string | null {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) return 'options must be an object';
  for (const [key, value] of Object.entries(options)) {
    const rule = OLLAMA_OPTIONS[key];
    if (!rule) return `options.${key} is not a known Ollama option`;
    if (rule.type === 'boolean' && typeof value !== 'boolean') return `options.${key} must be a boolean`;
    if (rule.type === 'string[]') {
      if (!Array.isArray(value) || value.length > 16 || !value.every((s) => typeof s === 'string' && s.length <= 200)) {
        return `options.${key} must be an array of at most 16 strings`;
      }
    }
    if (rule.type === 'number') {
      if (typeof value !== 'number' || !Number.isFinite(value)) return `options.${key} must be a number`;
      if (rule.integer && !Number.isInteger(value)) return `options.${key} must be an integer`;
      if (rule.min !== undefined && value < rule.min) return `options.${key} must not be less than ${rule.min}`;
      if (rule.max !== undefined && value > rule.max) return `options.${key} must not be greater than ${rule.max}`;
    }
  }
  return null;
}

@ValidatorConstraint({ name: 'ollamaOptions' })
export class OllamaOptionsConstraint implements ValidatorConstraintInterface {
  validate(value: unknown): boolean {
    return checkOllamaOptions(value) === null;
  }

  defaultMessage(args: ValidationArguments): string {
    return checkOllamaOptions(args.value) ?? 'options is invalid';
  }
}
