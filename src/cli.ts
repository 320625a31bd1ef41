#!/usr/bin/env node
/**
 * The `vega` command line. Help, version and usage errors are answered from the command
 * catalogue before anything heavy loads; only a command that runs boots Nest, and only with
 * the modules it needs (`cli/command-modules.ts`).
 */
import { describeError, EXIT_OK, EXIT_USAGE, exitCodeFor } from './cli/cli-errors';
import { findCommand } from './cli/catalogue';
import { parseCommandLine } from './cli/invocation';
import { readerHasLeft, readerLeft } from './cli/output/reader-left';

async function main(args: string[]): Promise<number> {
  const { invocation, verbose } = parseCommandLine(args);
  switch (invocation.kind) {
    case 'help': {
      const { renderHelp } = require('./cli/help') as typeof import('./cli/help');
      const { paletteFor } = require('./cli/output/colour') as typeof import('./cli/output/colour');
      process.stdout.write(renderHelp(invocation.path, invocation.spec ?? findCommand(invocation.path), paletteFor(process.stdout)));
      return EXIT_OK;
    }
    case 'version':
      process.stdout.write(`${(require('../package.json') as { version: string }).version}\n`);
      return EXIT_OK;
    case 'usage':
      process.stderr.write(`${invocation.message}\n`);
      return EXIT_USAGE;
    case 'run':
      try {
        const { runCommand } = require('./cli/run-command') as typeof import('./cli/run-command');
        return await runCommand(invocation.path, invocation.argv);
      } catch (error) {
        // The reader left (the write that failed, or the work stopped because of it): a normal end.
        if (isEpipe(error) || readerHasLeft()) return EXIT_OK;
        process.stderr.write(`${errorLine(invocation.path, error, verbose)}\n`);
        return exitCodeFor(error);
      }
  }
}

function errorLine(path: string[], error: unknown, verbose: boolean): string {
  const text = describeError(error, verbose);
  const code = (error as { code?: string } | null)?.code;
  // Commander's messages start with "error: "; name the command and where its options are listed.
  if (typeof code === 'string' && code.startsWith('commander.')) {
    return `vega ${path.join(' ')}: ${text.replace(/^error: /, '')} (see vega ${path.join(' ')} --help)`;
  }
  const { paletteFor } = require('./cli/output/colour') as typeof import('./cli/output/colour');
  return `${paletteFor(process.stderr).red('vega:')} ${text}`;
}

function isEpipe(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | null)?.code === 'EPIPE';
}

let settled = false;

// `vega history | head`: the reader left, which is how a pipe ends, not a failure. Stop at once,
// even mid-stream (as SIGPIPE would), with exit 0 and nothing on stderr — unless the command had
// already ended with its own code. Work that must leave a record first (a chat turn) is stopped
// and awaited, briefly (`cli/output/reader-left.ts`).
let leaving = false;
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (!isEpipe(error)) throw error;
  if (leaving) return;
  leaving = true;
  const code = settled ? (process.exitCode ?? EXIT_OK) : EXIT_OK;
  void readerLeft().finally(() => {
    settled = true;
    process.exit(code);
  });
});
// A command whose work was left waiting on nothing would otherwise end with exit 0.
process.once('exit', () => {
  if (settled) return;
  process.stderr.write('vega: the command stopped before finishing its work\n');
  process.exitCode = 1;
});

main(process.argv.slice(2)).then(
  (code) => {
    settled = true;
    process.exitCode = code;
  },
  (error: unknown) => {
    settled = true;
    process.stderr.write(`vega: ${describeError(error, true)}\n`);
    process.exitCode = 1;
  },
);
