import { Injectable, Module } from '@nestjs/common';
import { Command, CommandRunner, Option, SubCommand } from 'nest-commander';
import { GenerationSettingsService } from '../../core/llm/generation-settings.service';
import { GENERATION_RANGES, GenerationOverrides, GenerationSettings, generationValueProblem, NumericGenerationSetting } from '../../core/llm/generation-settings';
import { CliChangeNoticesModule } from '../cli-change-notices.module';
import { commandMeta, optionMeta } from '../catalogue';
import { UsageError } from '../cli-errors';
import { Output } from '../output/output';

/** The API's field names (`GET /admin/gen`): `dynamic` is `dynamic_generation` there. */
function toApiShape(settings: GenerationSettings): Record<string, number | boolean> {
  const { dynamic, ...rest } = settings;
  return { ...rest, dynamic_generation: dynamic };
}

/** `@Injectable()` so the subclasses inherit the constructor's parameter types for injection. */
@Injectable()
abstract class GenSubCommand extends CommandRunner {
  protected readonly out = new Output();

  constructor(protected readonly settings: GenerationSettingsService) {
    super();
  }

  protected print(settings: GenerationSettings, json: boolean | undefined): void {
    const shape = toApiShape(settings);
    if (json) return this.out.json(shape);
    const width = Math.max(...Object.keys(shape).map((name) => name.length));
    for (const [name, value] of Object.entries(shape)) this.out.line(`${this.out.colour.dim(name.padEnd(width))}  ${value}`);
  }
}

@SubCommand(commandMeta('gen', 'show'))
export class GenShowCommand extends GenSubCommand {
  async run(_args: string[], options: { json?: boolean }): Promise<void> {
    this.print(this.settings.get(), options.json);
  }

  @Option(optionMeta(['gen', 'show'], '--json'))
  parseJson(): boolean {
    return true;
  }
}

@SubCommand(commandMeta('gen', 'set'))
export class GenSetCommand extends GenSubCommand {
  async run(assignments: string[], options: { json?: boolean }): Promise<void> {
    this.print(this.settings.update(parseAssignments(assignments)), options.json);
  }

  @Option(optionMeta(['gen', 'set'], '--json'))
  parseJson(): boolean {
    return true;
  }
}

@SubCommand(commandMeta('gen', 'dynamic'))
export class GenDynamicCommand extends GenSubCommand {
  async run([value]: string[], options: { json?: boolean }): Promise<void> {
    const on = parseSwitch(value);
    this.print(this.settings.update({ dynamic: on }), options.json);
  }

  @Option(optionMeta(['gen', 'dynamic'], '--json'))
  parseJson(): boolean {
    return true;
  }
}

@SubCommand(commandMeta('gen', 'reset'))
export class GenResetCommand extends GenSubCommand {
  async run(_args: string[], options: { json?: boolean }): Promise<void> {
    this.print(this.settings.reset(), options.json);
  }

  @Option(optionMeta(['gen', 'reset'], '--json'))
  parseJson(): boolean {
    return true;
  }
}

@Command({ ...commandMeta('gen'), subCommands: [GenShowCommand, GenSetCommand, GenDynamicCommand, GenResetCommand] })
export class GenCommand extends CommandRunner {
  async run(): Promise<void> {
    throw new UsageError('vega gen: give a command: show, set, dynamic, reset');
  }
}

/** `temperature=0.2 top_k=20` → overrides, each checked against its range. */
export function parseAssignments(assignments: string[]): GenerationOverrides {
  const overrides: GenerationOverrides = {};
  const names = Object.keys(GENERATION_RANGES);
  for (const assignment of assignments) {
    const at = assignment.indexOf('=');
    const name = (at > 0 ? assignment.slice(0, at) : assignment).trim();
    if (at <= 0) throw new UsageError(`expected name=value, got "${assignment}" (names: ${names.join(', ')})`);
    const raw = assignment.slice(at + 1).trim();
    if (name === 'dynamic' || name === 'dynamic_generation') {
      overrides.dynamic = parseSwitch(raw);
      continue;
    }
    if (!names.includes(name)) throw new UsageError(`unknown setting "${name}" (names: ${names.join(', ')}, dynamic)`);
    const value = raw === '' ? Number.NaN : Number(raw);
    const problem = generationValueProblem(name as NumericGenerationSetting, value);
    if (problem) throw new UsageError(`${problem} (got "${raw}")`);
    overrides[name as NumericGenerationSetting] = value;
  }
  return overrides;
}

function parseSwitch(value: string): boolean {
  const normalized = value.trim().toLowerCase();
  if (['on', 'true', '1', 'yes'].includes(normalized)) return true;
  if (['off', 'false', '0', 'no'].includes(normalized)) return false;
  throw new UsageError(`expected on or off, got "${value}"`);
}

/**
 * The settings service alone, not the whole `LlmModule`: it needs only the configuration, and
 * `vega gen` should not load the HTTP client of the model backend. A change is announced to the
 * running servers (Redis).
 */
@Module({
  imports: [CliChangeNoticesModule],
  providers: [GenerationSettingsService, GenCommand, GenShowCommand, GenSetCommand, GenDynamicCommand, GenResetCommand],
})
export class GenCommandModule {}
