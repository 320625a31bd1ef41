import { COMMANDS } from '../../src/cli/catalogue';
import { COMMAND_MODULES } from '../../src/cli/command-modules';
import { parseCommandLine } from '../../src/cli/invocation';

describe('parseCommandLine', () => {
  it('finds commands and subcommands, leaving their options and arguments to the command', () => {
    expect(parseCommandLine(['history', '--limit', '5']).invocation).toEqual({ kind: 'run', path: ['history'], argv: ['history', '--limit', '5'] });
    expect(parseCommandLine(['db', 'export', '--out', 'x']).invocation).toEqual({ kind: 'run', path: ['db', 'export'], argv: ['db', 'export', '--out', 'x'] });
    expect(parseCommandLine(['chat', 'db', 'stats']).invocation).toMatchObject({ kind: 'run', path: ['chat'] });
  });

  it('answers help, version and usage errors before any command runs', () => {
    expect(parseCommandLine([]).invocation).toEqual({ kind: 'help', path: [] });
    expect(parseCommandLine(['help', 'db', 'purge']).invocation).toMatchObject({ kind: 'help', path: ['db', 'purge'] });
    expect(parseCommandLine(['history', '-h']).invocation).toMatchObject({ kind: 'help', path: ['history'] });
    expect(parseCommandLine(['--version']).invocation).toEqual({ kind: 'version' });
    expect(parseCommandLine(['db', 'frob']).invocation).toMatchObject({ kind: 'usage', message: expect.stringContaining("vega db: unknown command 'frob'") });
    expect(parseCommandLine(['gen']).invocation).toMatchObject({ kind: 'usage', message: expect.stringContaining('give a command') });
  });

  it('takes --verbose anywhere before --', () => {
    const parsed = parseCommandLine(['chat', '--verbose', 'hi', '--', '--verbose']);
    expect(parsed.verbose).toBe(true);
    expect(parsed.invocation).toEqual({ kind: 'run', path: ['chat'], argv: ['chat', 'hi', '--', '--verbose'] });
  });
});

describe('the command catalogue', () => {
  it('has a module for every top-level command, and subcommand keys only for real subcommands', () => {
    const keys = Object.keys(COMMAND_MODULES);
    expect(keys.filter((key) => !key.includes(' ')).sort()).toEqual(COMMANDS.map((command) => command.name).sort());
    const subcommands = COMMANDS.flatMap((command) => (command.subcommands ?? []).map((sub) => `${command.name} ${sub.name}`));
    for (const key of keys.filter((name) => name.includes(' '))) expect(subcommands).toContain(key);
  });
});
