import type { GenerationDefaults } from '../../config/app-config';

export type GenerationSettings = GenerationDefaults;

/** Settings an operator may change at runtime (`POST /admin/gen`). */
export type GenerationOverrides = Partial<GenerationSettings>;

const CREATIVE = /\b(creative|creativity|brainstorm\w*|ideas?|story|stories|poem|poetry|imagine|fiction)\b/i;
const PRECISE = /\b(concise|precise|precisely|exact|exactly|factual|facts?|accurate|strict|step[- ]by[- ]step)\b/i;

const clamp = (value: number, min: number, max: number) => Math.min(max, Math.max(min, value));
const round2 = (value: number) => Math.round(value * 100) / 100;

/**
 * `GEN_DYNAMIC`: adapt temperature and top_p to the prompt. Long prompts (documents to work
 * on) get a cooler setting; words asking for creativity make it warmer, words asking for
 * precision make it cooler. Returns the adjusted pair; everything else is left as configured.
 */
export function dynamicSampling(
  prompt: string,
  base: Pick<GenerationSettings, 'temperature' | 'top_p'>,
): { temperature: number; top_p: number } {
  let temperature = base.temperature;
  let topP = base.top_p;
  if (prompt.length > 2000) temperature -= 0.2;
  else if (prompt.length > 500) temperature -= 0.1;
  const creative = CREATIVE.test(prompt);
  const precise = PRECISE.test(prompt);
  if (creative && !precise) {
    temperature += 0.25;
    topP = Math.max(topP, 0.95);
  } else if (precise && !creative) {
    temperature -= 0.3;
    topP = Math.min(topP, 0.8);
  }
  return { temperature: round2(clamp(temperature, 0.05, 1.5)), top_p: round2(clamp(topP, 0.1, 1)) };
}

/**
 * The Ollama `options` for one request: the current settings, adjusted by the dynamic
 * heuristic when it is on, then the caller's own options, which always win.
 */
export function buildOptions(
  settings: GenerationSettings,
  prompt: string,
  requestOptions: Record<string, unknown> = {},
): Record<string, unknown> {
  const sampling = settings.dynamic ? dynamicSampling(prompt, settings) : settings;
  return {
    temperature: sampling.temperature,
    top_p: sampling.top_p,
    top_k: settings.top_k,
    repeat_penalty: settings.repeat_penalty,
    presence_penalty: settings.presence_penalty,
    frequency_penalty: settings.frequency_penalty,
    ...requestOptions,
  };
}

/** The accepted range of each numeric setting (as the `GEN_*` variables and `POST /admin/gen`). */
export const GENERATION_RANGES = {
  temperature: { min: 0, max: 2, integer: false },
  top_p: { min: 0, max: 1, integer: false },
  top_k: { min: 1, max: 1000, integer: true },
  repeat_penalty: { min: 0, max: 2, integer: false },
  presence_penalty: { min: -2, max: 2, integer: false },
  frequency_penalty: { min: -2, max: 2, integer: false },
} as const satisfies Record<Exclude<keyof GenerationSettings, 'dynamic'>, { min: number; max: number; integer: boolean }>;

export type NumericGenerationSetting = keyof typeof GENERATION_RANGES;

/** Why `value` is not acceptable for `name`, or null when it is. */
export function generationValueProblem(name: NumericGenerationSetting, value: number): string | null {
  const range = GENERATION_RANGES[name];
  const kind = range.integer ? 'an integer' : 'a number';
  const ok = Number.isFinite(value) && value >= range.min && value <= range.max && (!range.integer || Number.isInteger(value));
  return ok ? null : `${name} must be ${kind} between ${range.min} and ${range.max}`;
}

/** The valid settings of an untrusted object (a stored file); anything else is dropped. */
export function validGenerationOverrides(input: unknown): GenerationOverrides {
  const result: GenerationOverrides = {};
  if (!input || typeof input !== 'object') return result;
  const source = input as Record<string, unknown>;
  for (const name of Object.keys(GENERATION_RANGES) as NumericGenerationSetting[]) {
    const value = source[name];
    if (typeof value === 'number' && generationValueProblem(name, value) === null) result[name] = value;
  }
  if (typeof source.dynamic === 'boolean') result.dynamic = source.dynamic;
  return result;
}
