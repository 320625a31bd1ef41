import { DynamicModule, Injectable, Module, Type } from '@nestjs/common';
import { InjectCommander } from 'nest-commander';
import { AppConfig } from '../config/app-config';
import { ConfigModule } from '../config/config.module';

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
      imports: [ConfigModule.forRoot(config), commands],
      providers: [CommanderHandle],
    };
  }
}
