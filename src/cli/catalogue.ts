/**
 * Every `vega` command, its arguments, options and examples, as plain data. `--help` is
 * rendered from here without booting Nest, and the command classes take their nest-commander
 * metadata from here (`commandMeta`, `optionMeta`), so the two cannot drift apart.
 */
export interface OptionSpec {
  /** Commander flags, e.g. `--limit <n>`, `--no-stream`. */
  flags: string;
  description: string;
}

export interface CommandSpec {
  name: string;
  /** Commander arguments, e.g. `<prompt...>`. */
  arguments?: string;
  summary: string;
  /** Longer help text, shown by `vega <command> --help`. */
  details?: string;
  options?: OptionSpec[];
  examples?: string[];
  subcommands?: CommandSpec[];
}

const JSON_OPTION: OptionSpec = { flags: '--json', description: 'print JSON for scripts instead of text' };

export const COMMANDS: CommandSpec[] = [
  {
    name: 'serve',
    summary: 'start the HTTP API (as `npm start`)',
    details: 'Listens on HOST:PORT (default 127.0.0.1:8000) with the configuration from .env and the environment.',
    examples: ['vega serve', 'PORT=9000 vega serve'],
  },
  {
    name: 'chat',
    arguments: '<prompt...>',
    summary: 'ask the model; the answer streams to the terminal',
    details:
      'The exchange is stored with source "cli". Pass --session to continue a conversation: its last MEMORY_TURNS exchanges are sent as history. Ctrl-C stops the answer (and the model).',
    options: [
      { flags: '--session <id>', description: 'continue this session (letters, digits, _ and -, at most 64)' },
      { flags: '--model <name>', description: 'use this model instead of MODEL_NAME' },
      { flags: '--no-stream', description: 'print the answer once it is complete' },
      { ...JSON_OPTION, description: 'print the result as JSON (answer, ids, usage) once complete' },
    ],
    examples: [
      'vega chat "Name three uses of a circuit breaker."',
      'vega chat --session 9f0c2a1b7d3e4f56 "And a fourth?"',
      'vega chat --json "Summarise WAL mode in one line" | jq -r .response',
    ],
  },
  {
    name: 'repl',
    summary: 'an interactive chat that remembers the conversation',
    details:
      'Type a prompt and press Enter. /history shows this session, /reset starts a new one, /exit (or Ctrl-D) leaves. Ctrl-C stops the answer in flight; at an empty prompt it leaves.',
    options: [
      { flags: '--session <id>', description: 'resume this session' },
      { flags: '--model <name>', description: 'use this model instead of MODEL_NAME' },
    ],
    examples: ['vega repl', 'vega repl --session 9f0c2a1b7d3e4f56', 'printf "hello\\n/exit\\n" | vega repl'],
  },
  {
    name: 'history',
    summary: 'recent exchanges, newest first',
    options: [
      { flags: '--limit <n>', description: 'how many (1..500, default 20)' },
      { flags: '--session <id>', description: 'only this session' },
      { flags: '--search <query>', description: 'full-text search: words and "quoted phrases", word* for a prefix' },
      JSON_OPTION,
    ],
    examples: ['vega history', 'vega history --limit 5 --session 9f0c2a1b7d3e4f56', 'vega history --search "circuit breaker" --json'],
  },
  {
    name: 'session',
    arguments: '<id>',
    summary: "a session's exchanges, oldest first",
    options: [JSON_OPTION],
    examples: ['vega session 9f0c2a1b7d3e4f56', 'vega session 9f0c2a1b7d3e4f56 --json'],
  },
  {
    name: 'feedback',
    arguments: '<id>',
    summary: 'rate, tag or annotate a stored exchange',
    options: [
      { flags: '--rating <n>', description: 'rating 1..5' },
      { flags: '--tags <text>', description: 'tags, e.g. "good,concise"' },
      { flags: '--notes <text>', description: 'free-text notes' },
      { flags: '--reviewed', description: 'mark as reviewed' },
      JSON_OPTION,
    ],
    examples: ['vega feedback 42 --rating 5 --tags good,concise', 'vega feedback 42 --notes "wrong date" --reviewed'],
  },
  {
    name: 'gen',
    summary: 'generation settings (temperature, top_p, …), kept across restarts',
    details:
      'Changes are stored in <data dir>/generation.json and apply to chats from the CLI at once and to the HTTP API when it next starts (POST /admin/gen changes a running server).',
    subcommands: [
      { name: 'show', summary: 'the current settings', options: [JSON_OPTION], examples: ['vega gen show', 'vega gen show --json'] },
      {
        name: 'set',
        arguments: '<name=value...>',
        summary: 'change settings: temperature 0..2, top_p 0..1, top_k 1..1000, repeat_penalty 0..2, presence_penalty and frequency_penalty -2..2',
        options: [JSON_OPTION],
        examples: ['vega gen set temperature=0.2', 'vega gen set top_p=0.8 top_k=20'],
      },
      {
        name: 'dynamic',
        arguments: '<on|off>',
        summary: 'adapt temperature/top_p to each prompt (GEN_DYNAMIC)',
        options: [JSON_OPTION],
        examples: ['vega gen dynamic on'],
      },
      { name: 'reset', summary: 'back to the GEN_* configuration', options: [JSON_OPTION], examples: ['vega gen reset'] },
    ],
  },
  {
    name: 'db',
    summary: 'database maintenance: backup, vacuum, export, import, purge, search, stats',
    subcommands: [
      {
        name: 'backup',
        summary: 'a consistent copy in <data dir>/backups/',
        options: [JSON_OPTION],
        examples: ['vega db backup'],
      },
      { name: 'vacuum', summary: 'compact the database file', options: [JSON_OPTION], examples: ['vega db vacuum'] },
      {
        name: 'export',
        summary: 'every conversation as JSON Lines (to stdout, or --out FILE)',
        options: [{ flags: '--out <file>', description: 'write to this file instead of stdout' }],
        examples: ['vega db export --out conversations.jsonl', 'vega db export | gzip > conversations.jsonl.gz'],
      },
      {
        name: 'import',
        arguments: '<file>',
        summary: 'add the conversations of an export (JSON Lines; "-" reads stdin)',
        options: [JSON_OPTION],
        examples: ['vega db import conversations.jsonl', 'gunzip -c conversations.jsonl.gz | vega db import -'],
      },
      {
        name: 'purge',
        arguments: '<days>',
        summary: 'delete conversations older than that many days',
        options: [JSON_OPTION],
        examples: ['vega db purge 90'],
      },
      {
        name: 'search',
        arguments: '<query...>',
        summary: 'full-text search, most relevant first',
        options: [{ flags: '--limit <n>', description: 'how many (1..500, default 20)' }, JSON_OPTION],
        examples: ['vega db search kubernetes', 'vega db search \'"circuit breaker"\' --limit 5 --json'],
      },
      { name: 'stats', summary: 'database file, size and row count', options: [JSON_OPTION], examples: ['vega db stats'] },
    ],
  },
  {
    name: 'health',
    summary: 'is the model backend reachable, the model present, the database fine? (exit 1 when not)',
    options: [JSON_OPTION],
    examples: ['vega health', 'vega health --json'],
  },
  {
    name: 'integrations',
    summary: 'check the integrations (Slack)',
    subcommands: [
      {
        name: 'test',
        summary: 'post a test message to SLACK_WEBHOOK_URL (exit 1 when Slack refuses it, 2 when Slack is not configured)',
        details:
          'Sent through the outbound fetcher, like the API\'s POST /integrations/test: the SSRF guard applies (FETCH_ALLOW_HOSTS, FETCH_ALLOW_PRIVATE). Slack\'s reason (invalid_token, no_service, channel_is_archived…) is printed when it refuses.',
        options: [JSON_OPTION],
        examples: ['vega integrations test', 'vega integrations test --json'],
      },
    ],
  },
];

/** Options every command accepts; handled before a command runs. */
export const GLOBAL_OPTIONS: OptionSpec[] = [
  { flags: '-h, --help', description: 'show help for vega or for a command' },
  { flags: '-V, --version', description: 'print the version' },
  { flags: '--verbose', description: 'on failure, print the stack trace too' },
];

/** The spec at a path of names (`['db', 'export']`), or undefined. */
export function findCommand(path: readonly string[]): CommandSpec | undefined {
  let list = COMMANDS;
  let found: CommandSpec | undefined;
  for (const name of path) {
    found = list.find((command) => command.name === name);
    if (!found) return undefined;
    list = found.subcommands ?? [];
  }
  return found;
}

/** nest-commander's `@Command`/`@SubCommand` metadata for the command at `path`. */
export function commandMeta(...path: string[]): { name: string; arguments?: string; description: string } {
  const spec = findCommand(path);
  if (!spec) throw new Error(`vega ${path.join(' ')} is not in the command catalogue`);
  return { name: spec.name, arguments: spec.arguments, description: spec.summary };
}

/** nest-commander's `@Option` metadata for the option of the command at `path` whose flags start with `flag`. */
export function optionMeta(path: readonly string[], flag: string): { flags: string; description: string } {
  const option = findCommand(path)?.options?.find((candidate) => candidate.flags.split(/[ ,]/)[0] === flag);
  if (!option) throw new Error(`vega ${path.join(' ')} has no option ${flag} in the command catalogue`);
  return { flags: option.flags, description: option.description };
}
