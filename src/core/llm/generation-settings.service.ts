import { Injectable, Optional } from '@nestjs/common';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AppConfig } from '../../config/app-config';
import { ChangeNotices } from '../redis/change-notices';
import { buildOptions, GenerationOverrides, GenerationSettings, validGenerationOverrides } from './generation-settings';

/**
 * The generation defaults from `GEN_*`, with the overrides applied at runtime. Overrides are
 * kept in `<data dir>/generation.json`, so a change made with `vega gen set` or
 * `POST /admin/gen` survives restarts and reaches the other entry point when it next starts.
 * With several instances (Redis), a change made on one is applied (and kept) on every other.
 */
@Injectable()
export class GenerationSettingsService {
  private overrides: GenerationOverrides;
  private current: GenerationSettings;
  private readonly file: string;

  constructor(
    private readonly config: AppConfig,
    @Optional() private readonly notices?: ChangeNotices,
  ) {
    this.file = join(config.dataDir, 'generation.json');
    this.overrides = readOverrides(this.file);
    this.current = { ...config.generation, ...this.overrides };
    notices?.on('generation', (overrides) => this.apply(validGenerationOverrides(overrides)));
  }

  get(): GenerationSettings {
    return { ...this.current };
  }

  update(overrides: GenerationOverrides): GenerationSettings {
    this.apply({ ...this.overrides, ...stripUndefined(overrides) });
    this.notices?.announce('generation', this.overrides);
    return this.get();
  }

  reset(): GenerationSettings {
    this.apply({});
    this.notices?.announce('generation', {});
    return this.get();
  }

  /** Makes `overrides` the ones in force, and keeps them (none: the file is removed). */
  private apply(overrides: GenerationOverrides): void {
    this.overrides = overrides;
    this.current = { ...this.config.generation, ...overrides };
    if (Object.keys(overrides).length === 0) rmSync(this.file, { force: true });
    else this.save();
  }

  optionsFor(prompt: string, requestOptions?: Record<string, unknown>): Record<string, unknown> {
    return buildOptions(this.current, prompt, requestOptions);
  }

  /** Write-then-rename: a reader never sees half a file. */
  private save(): void {
    mkdirSync(this.config.dataDir, { recursive: true });
    const temp = `${this.file}.${process.pid}.tmp`;
    writeFileSync(temp, `${JSON.stringify(this.overrides, null, 2)}\n`, { mode: 0o600 });
    renameSync(temp, this.file);
  }
}

/** The stored overrides; a missing file means none, and values out of range are ignored. */
function readOverrides(file: string): GenerationOverrides {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return {};
  }
  try {
    return validGenerationOverrides(JSON.parse(text));
  } catch {
    return {};
  }
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
