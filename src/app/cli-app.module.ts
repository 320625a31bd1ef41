import { DynamicModule, ForwardReference, Injectable, Module, Type } from '@nestjs/common';
import { InjectCommander } from 'nest-commander';
import { AppConfig } from '../config/app-config';
import { ConfigModule } from '../config/config.module';
import { PersistenceModule } from '../core/persistence/persistence.module';

/** The parts of commander's `Command` the CLI entry adjusts (exit handling, output, strictness). */
export interface CommanderProgram {
  readonly commands: readonly CommanderProgram[];
  name(name: string): CommanderProgram;
  exitOverride(): CommanderProgram;
  allowExcessArguments(allow: boolean): CommanderProgram;
  enablePositionalOptions(positional?: boolean): CommanderProgram;
  configureOutput(output: { writeOut?: (text: string) => void; writeErr?: (text: string) => void; outputError?: (text: string, write: (text: string) => void) => void }): CommanderProgram;
}

/** Hands the commander program that nest-commander built to the CLI entry. */
@Injectable()
export class CommanderHandle {
  constructor(@InjectCommander() readonly program: CommanderProgram) {}
}

/**
 * The CLI's root: the configuration plus the module of ONE command (group), which imports
 * the feature modules it needs — the same providers as the HTTP app, without its global
 * guards, filters, throttler, logger, metrics or schedules, and without the features the
 * command does not use (`vega history` never loads the model client).
 */
@Module({})
export class CliAppModule {
  static forCommand(config: AppConfig, commands: Type<unknown>): DynamicModule {
    return {
      module: CliAppModule,
      // The database only for a command whose modules use it: `vega net scan` never opens the file.
      imports: [ConfigModule.forRoot(config), ...(usesDatabase(commands) ? [PersistenceModule.forRoot(config.database)] : []), commands],
      providers: [CommanderHandle],
    };
  }
}

/** Whether `entry` or a module it imports, at any depth, lists `PersistenceModule` (see there). */
export function usesDatabase(entry: unknown, seen = new Set<unknown>()): boolean {
  const imported = typeof (entry as ForwardReference | null)?.forwardRef === 'function' ? (entry as ForwardReference).forwardRef() : entry;
  if (!imported || seen.has(imported)) return false;
  seen.add(imported);
  const dynamic = typeof imported === 'object' && 'module' in imported ? (imported as DynamicModule) : undefined;
  const type = dynamic?.module ?? (typeof imported === 'function' ? imported : undefined);
  if (type === undefined) return false;
  if (type === PersistenceModule) return true;
  const imports = [...((Reflect.getMetadata('imports', type) as unknown[] | undefined) ?? []), ...(dynamic?.imports ?? [])];
  return imports.some((next) => usesDatabase(next, seen));
}
