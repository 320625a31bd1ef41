import 'reflect-metadata';
import { CommandFactory, CommandRunnerService } from 'nest-commander';
import { CliAppModule, CommanderHandle, CommanderProgram } from '../app/cli-app.module';
import { loadEnvironmentConfig } from '../config/load-environment';
import { EXIT_OK, UsageError } from './cli-errors';
import { COMMAND_MODULES } from './command-modules';

/**
 * Boots the DI container for one command (its module set only, no HTTP server) and runs it
 * through nest-commander. Resolves when the command is done and the container is closed;
 * rejects with the command's error (or commander's usage error).
 */
export async function runCommand(path: string[], argv: string[]): Promise<number> {
  const config = loadEnvironmentConfig();
  const load = COMMAND_MODULES[path.slice(0, 2).join(' ')] ?? COMMAND_MODULES[path[0]];
  if (!load) throw new UsageError(`vega: unknown command '${path[0]}'`);
  let failure: unknown;
  const app = await CommandFactory.createWithoutRunning(CliAppModule.forCommand(config, load()), {
    logger: false,
    // A provider that cannot be built must reach the one-line error, not exit silently.
    abortOnError: false,
    cliName: 'vega',
    serviceErrorHandler: (error: Error) => {
      failure = error;
    },
  });
  try {
    strict(app.get(CommanderHandle).program.name('vega'));
    await app.get(CommandRunnerService).run(['node', 'vega', ...argv]);
  } finally {
    await app.close();
  }
  if (failure) throw failure;
  return EXIT_OK;
}

/**
 * Commander's defaults suit a different CLI: it prints its errors itself and exits the process
 * (code 1), and accepts stray arguments. Here every command, nested ones included, throws
 * instead (the entry prints one line and exits 2) and refuses extra arguments.
 */
function strict(command: CommanderProgram): void {
  command.exitOverride();
  command.allowExcessArguments(false);
  command.configureOutput({ outputError: () => undefined });
  // A parent's own options stop at its subcommand: `vega train --json` and `vega train register --json` are two options.
  if (command.commands.length > 0) command.enablePositionalOptions();
  for (const child of command.commands) strict(child);
}
