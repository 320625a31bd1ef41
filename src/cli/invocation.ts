import { COMMANDS, CommandSpec } from './catalogue';

/** What the command line asks for, worked out from the catalogue alone (nothing is booted). */
export type Invocation =
  | { kind: 'help'; path: string[]; spec?: CommandSpec }
  | { kind: 'version' }
  | { kind: 'usage'; message: string; path: string[] }
  | { kind: 'run'; path: string[]; argv: string[] };

export interface ParsedCommandLine {
  invocation: Invocation;
  verbose: boolean;
}

const HELP = new Set(['-h', '--help']);
const VERSION = new Set(['-V', '--version']);

/**
 * Finds the command (and subcommand) in `args`, and the flags handled before any command
 * runs: `--help` anywhere (before `--`), `--version`, `--verbose`. Options and arguments
 * after the command are left to the command's own parser.
 */
export function parseCommandLine(args: readonly string[]): ParsedCommandLine {
  const endOfOptions = args.indexOf('--');
  const head = endOfOptions === -1 ? args : args.slice(0, endOfOptions);
  const verbose = head.includes('--verbose');
  const rest = args.filter((arg, i) => !(arg === '--verbose' && (endOfOptions === -1 || i < endOfOptions)));
  const wantsHelp = head.some((arg) => HELP.has(arg)) || rest[0] === 'help';
  const words = rest[0] === 'help' ? rest.slice(1) : rest;

  const path: string[] = [];
  let list = COMMANDS;
  let spec: CommandSpec | undefined;
  for (const word of words) {
    if (word.startsWith('-')) break;
    const next = list.find((command) => command.name === word);
    if (!next) {
      if (spec?.subcommands === undefined && spec !== undefined) break; // an argument of the command
      const where = spec ? `vega ${path.join(' ')}` : 'vega';
      const known = list.map((command) => command.name);
      const hint = closest(word, known);
      return {
        verbose,
        invocation: {
          kind: 'usage',
          path,
          message: `${where}: unknown command '${word}'${hint ? ` (did you mean '${hint}'?)` : ''}; commands: ${known.join(', ')}`,
        },
      };
    }
    spec = next;
    path.push(word);
    if (!next.subcommands) break;
    list = next.subcommands;
  }

  if (wantsHelp) return { verbose, invocation: { kind: 'help', path, spec } };
  if (!spec) {
    if (words.length === 0) return { verbose, invocation: { kind: 'help', path } };
    if (words.some((word) => VERSION.has(word))) return { verbose, invocation: { kind: 'version' } };
    return { verbose, invocation: { kind: 'usage', path, message: `vega: unknown option '${words[0]}'; see vega --help` } };
  }
  if (spec.subcommands && !spec.runsItself) {
    const names = spec.subcommands.map((command) => command.name).join(', ');
    return { verbose, invocation: { kind: 'usage', path, message: `vega ${path.join(' ')}: give a command: ${names}` } };
  }
  return { verbose, invocation: { kind: 'run', path, argv: rest } };
}

/** The known name within edit distance 2 of `word`, if any. */
function closest(word: string, names: string[]): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const name of names) {
    const distance = editDistance(word, name);
    if (distance <= 2 && (!best || distance < best.distance)) best = { name, distance };
  }
  return best?.name;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length];
}
