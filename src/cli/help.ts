import { COMMANDS, CommandSpec, GLOBAL_OPTIONS, OptionSpec } from './catalogue';
import type { Palette } from './output/colour';

/** The help text for `vega` (no path) or for the command at `path`, from the catalogue alone. */
export function renderHelp(path: readonly string[], spec: CommandSpec | undefined, colour: Palette): string {
  const lines: string[] = [];
  const heading = (text: string) => lines.push('', colour.bold(text));
  const list = (rows: [string, string][]) => {
    const width = Math.max(...rows.map(([left]) => left.length));
    for (const [left, right] of rows) lines.push(`  ${left.padEnd(width)}  ${right}`);
  };
  const options = (own: OptionSpec[]) => list([...own, ...GLOBAL_OPTIONS].map((option) => [option.flags, option.description]));

  if (!spec) {
    lines.push(`${colour.bold('vega')} — a local-first LLM service and its command line`);
    heading('Usage:');
    lines.push('  vega <command> [options]');
    heading('Commands:');
    list(COMMANDS.map((command) => [signature(command), command.summary]));
    heading('Options:');
    list(GLOBAL_OPTIONS.map((option) => [option.flags, option.description]));
    heading('Examples:');
    for (const example of ['vega chat "Why is the sky blue?"', 'vega history --limit 5', 'vega db export --out backup.jsonl', 'vega health --json']) {
      lines.push(`  $ ${example}`);
    }
    lines.push('', 'Configuration comes from .env and the environment (see the README). Run "vega <command> --help" for a command\'s options.');
    return `${lines.join('\n')}\n`;
  }

  lines.push(`${colour.bold(`vega ${path.join(' ')}`)} — ${spec.summary}`);
  heading('Usage:');
  lines.push(`  ${['vega', ...path.slice(0, -1), signature(spec), '[options]'].join(' ')}`);
  if (spec.details) lines.push('', wrap(spec.details, 100));
  if (spec.subcommands) {
    heading('Commands:');
    list(spec.subcommands.map((sub) => [signature(sub), sub.summary]));
  }
  heading('Options:');
  options(spec.options ?? []);
  const examples = spec.examples ?? spec.subcommands?.flatMap((sub) => sub.examples?.slice(0, 1) ?? []) ?? [];
  if (examples.length > 0) {
    heading('Examples:');
    for (const example of examples) lines.push(`  $ ${example}`);
  }
  return `${lines.join('\n')}\n`;
}

/** `name <command> <args>`: what the command line looks like after its parent's path. */
function signature(spec: CommandSpec): string {
  const command = spec.subcommands ? (spec.runsItself ? '[command]' : '<command>') : '';
  return [spec.name, command, spec.arguments ?? ''].filter(Boolean).join(' ');
}

function wrap(text: string, width: number): string {
  const out: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line && line.length + word.length + 1 > width) {
      out.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) out.push(line);
  return out.map((l) => `  ${l}`).join('\n');
}
