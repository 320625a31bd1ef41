import { Injectable } from '@nestjs/common';
import { AppConfig } from '../../config/app-config';
import { buildOptions, GenerationOverrides, GenerationSettings } from './generation-settings';

/** The generation defaults from `GEN_*`, with the overrides applied at runtime. */
@Injectable()
export class GenerationSettingsService {
  private current: GenerationSettings;

  constructor(private readonly config: AppConfig) {
    this.current = { ...config.generation };
  }

  get(): GenerationSettings {
    return { ...this.current };
  }

  update(overrides: GenerationOverrides): GenerationSettings {
    this.current = { ...this.current, ...stripUndefined(overrides) };
    return this.get();
  }

  reset(): GenerationSettings {
    this.current = { ...this.config.generation };
    return this.get();
  }

  optionsFor(prompt: string, requestOptions?: Record<string, unknown>): Record<string, unknown> {
    return buildOptions(this.current, prompt, requestOptions);
  }
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
