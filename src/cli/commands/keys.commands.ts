import { Module } from '@nestjs/common';
import { Command, CommandRunner, Option, SubCommand } from 'nest-commander';
import type { ApiKeyRecord } from '../../core/persistence/api-key-record';
import { ApiKeysService, type IssuedKey, type KeyInput } from '../../modules/keys/api-keys.service';
import { toApiKeyDto, type ApiKeyDto } from '../../modules/keys/dto/api-key.dto';
import { KeysModule } from '../../modules/keys/keys.module';
import { CliChangeNoticesModule } from '../cli-change-notices.module';
import { commandMeta, optionMeta } from '../catalogue';
import { UsageError } from '../cli-errors';
import { Output } from '../output/output';
import { renderTable } from '../output/table';
import { parseText } from './option-parsers';

/** The audit log's actor for changes made here: the CLI holds no key. */
const CLI_ACTOR = 'cli';

type JsonOption = { json?: boolean };
type LimitOptions = { limit?: Record<string, unknown> };

/** `a,b` → `['a', 'b']`; the service judges the values (unknown scope…). */
const commaList = (value: string): string[] => value.split(',').map((item) => item.trim()).filter((item) => item !== '');

/** `name=value`, collected over repeats: digits → a number, `default` → null (the configured default); anything else goes to the service, which names the rule. */
function collectLimit(value: string, previous: Record<string, unknown> = {}): Record<string, unknown> {
  const match = /^([a-z_]+)=(.+)$/.exec(value.trim());
  if (!match) throw new UsageError(`--limit takes name=value, e.g. requests_per_minute=60 (got "${value}")`);
  const [, name, raw] = match;
  return { ...previous, [name]: raw === 'default' ? null : /^\d+$/.test(raw) ? Number(raw) : raw };
}

const shortTime = (value: string | null): string => (value === null ? '-' : value.slice(0, 16).replace('T', ' '));
const limitsText = (dto: ApiKeyDto): string =>
  Object.entries(dto.limits)
    .map(([name, value]) => `${name}=${value}`)
    .join(' ') || 'defaults';

/** One key as `name  value` lines (or the API's JSON). */
function printKey(out: Output, key: ApiKeyRecord, json: boolean | undefined): void {
  const dto = toApiKeyDto(key);
  if (json) {
    out.json(dto);
    return;
  }
  const rows: [string, string][] = [
    ['id', dto.id],
    ['name', dto.name],
    ['prefix', `${dto.prefix}…`],
    ['status', dto.status],
    ['scopes', dto.scopes.join(', ')],
    ['models', dto.models?.join(', ') ?? 'every model'],
    ['limits', limitsText(dto)],
    ['expires', dto.expires_at ?? 'never'],
    ['created', dto.created_at],
    ['updated', dto.updated_at],
    ['last used', dto.last_used_at ?? 'never'],
    ['revoked', dto.revoked_at ?? '-'],
  ];
  for (const [name, value] of rows) out.line(`${out.colour.dim(name.padEnd(9))}  ${value}`);
}

/** The secret on stdout (it is the result), the warning always on stderr (also when piped: it must not be missed). */
function printIssued(out: Output, { key, secret }: IssuedKey, json: boolean | undefined): void {
  if (json) out.json({ ...toApiKeyDto(key), secret });
  else {
    printKey(out, key, false);
    out.line(`${out.colour.dim('secret'.padEnd(9))}  ${secret}`);
  }
  process.stderr.write('Store this secret now: it is shown only this once (Vega keeps only its digest).\n');
}

@SubCommand(commandMeta('keys', 'create'))
export class KeysCreateCommand extends CommandRunner {
  private readonly out = new Output();

  constructor(private readonly keys: ApiKeysService) {
    super();
  }

  async run([name]: string[], options: JsonOption & LimitOptions & { scopes?: string[]; models?: string[]; expires?: string }): Promise<void> {
    if (options.scopes === undefined) throw new UsageError('vega keys create: --scopes is required (e.g. --scopes chat,history:own)');
    const input: KeyInput = { name, scopes: options.scopes, models: options.models, limits: options.limit, expiresAt: options.expires };
    printIssued(this.out, await this.keys.create(input, CLI_ACTOR), options.json);
  }

  @Option(optionMeta(['keys', 'create'], '--scopes'))
  parseScopes(value: string): string[] {
    return commaList(value);
  }

  @Option(optionMeta(['keys', 'create'], '--models'))
  parseModels(value: string): string[] {
    return commaList(value);
  }

  @Option(optionMeta(['keys', 'create'], '--limit'))
  parseLimit(value: string, previous?: Record<string, unknown>): Record<string, unknown> {
    return collectLimit(value, previous);
  }

  @Option(optionMeta(['keys', 'create'], '--expires'))
  parseExpires(value: string): string {
    return parseText(value, '--expires');
  }

  @Option(optionMeta(['keys', 'create'], '--json'))
  parseJson(): boolean {
    return true;
  }
}

@SubCommand(commandMeta('keys', 'list'))
export class KeysListCommand extends CommandRunner {
  private readonly out = new Output();

  constructor(private readonly keys: ApiKeysService) {
    super();
  }

  async run(_args: string[], options: JsonOption & { all?: boolean }): Promise<void> {
    const now = new Date();
    const items = (await this.keys.list({ includeRevoked: options.all === true })).map((key) => toApiKeyDto(key, now));
    if (options.json) {
      this.out.json({ items });
      return;
    }
    if (items.length === 0) {
      this.out.note('No managed keys. Create one: vega keys create <name> --scopes chat');
      return;
    }
    const c = this.out.colour;
    this.out.write(
      renderTable<ApiKeyDto>(
        items,
        [
          { header: 'ID', value: (key) => key.id },
          { header: 'NAME', value: (key) => key.name },
          { header: 'PREFIX', value: (key) => `${key.prefix}…` },
          { header: 'STATUS', value: (key) => (key.status === 'active' ? key.status : c.yellow(key.status)) },
          { header: 'SCOPES', value: (key) => key.scopes.join(',') },
          { header: 'MODELS', value: (key) => key.models?.join(',') ?? '*' },
          { header: 'EXPIRES (UTC)', value: (key) => shortTime(key.expires_at) },
          { header: 'LAST USED (UTC)', value: (key) => shortTime(key.last_used_at) },
          { header: 'LIMITS', value: limitsText, flex: true },
        ],
        { width: this.out.width, header: c.dim },
      ),
    );
  }

  @Option(optionMeta(['keys', 'list'], '--all'))
  parseAll(): boolean {
    return true;
  }

  @Option(optionMeta(['keys', 'list'], '--json'))
  parseJson(): boolean {
    return true;
  }
}

@SubCommand(commandMeta('keys', 'show'))
export class KeysShowCommand extends CommandRunner {
  private readonly out = new Output();

  constructor(private readonly keys: ApiKeysService) {
    super();
  }

  async run([ref]: string[], options: JsonOption): Promise<void> {
    printKey(this.out, await this.keys.show(ref), options.json);
  }

  @Option(optionMeta(['keys', 'show'], '--json'))
  parseJson(): boolean {
    return true;
  }
}

@SubCommand(commandMeta('keys', 'update'))
export class KeysUpdateCommand extends CommandRunner {
  private readonly out = new Output();

  constructor(private readonly keys: ApiKeysService) {
    super();
  }

  async run(
    [ref]: string[],
    options: JsonOption & LimitOptions & { name?: string; scopes?: string[]; models?: string[]; allModels?: boolean; expires?: string },
  ): Promise<void> {
    if (options.models !== undefined && options.allModels) throw new UsageError('give --models or --all-models, not both');
    const input: KeyInput = {
      name: options.name,
      scopes: options.scopes,
      models: options.allModels ? null : options.models,
      limits: options.limit,
      expiresAt: options.expires === 'never' ? null : options.expires,
    };
    if (Object.values(input).every((value) => value === undefined)) {
      throw new UsageError('vega keys update: give something to change: --name, --scopes, --models, --all-models, --limit, --expires');
    }
    printKey(this.out, await this.keys.update(ref, input, CLI_ACTOR), options.json);
  }

  @Option(optionMeta(['keys', 'update'], '--name'))
  parseName(value: string): string {
    return value;
  }

  @Option(optionMeta(['keys', 'update'], '--scopes'))
  parseScopes(value: string): string[] {
    return commaList(value);
  }

  @Option(optionMeta(['keys', 'update'], '--models'))
  parseModels(value: string): string[] {
    return commaList(value);
  }

  @Option(optionMeta(['keys', 'update'], '--all-models'))
  parseAllModels(): boolean {
    return true;
  }

  @Option(optionMeta(['keys', 'update'], '--limit'))
  parseLimit(value: string, previous?: Record<string, unknown>): Record<string, unknown> {
    return collectLimit(value, previous);
  }

  @Option(optionMeta(['keys', 'update'], '--expires'))
  parseExpires(value: string): string {
    return parseText(value, '--expires');
  }

  @Option(optionMeta(['keys', 'update'], '--json'))
  parseJson(): boolean {
    return true;
  }
}

@SubCommand(commandMeta('keys', 'rotate'))
export class KeysRotateCommand extends CommandRunner {
  private readonly out = new Output();

  constructor(private readonly keys: ApiKeysService) {
    super();
  }

  async run([ref]: string[], options: JsonOption): Promise<void> {
    printIssued(this.out, await this.keys.rotate(ref, CLI_ACTOR), options.json);
  }

  @Option(optionMeta(['keys', 'rotate'], '--json'))
  parseJson(): boolean {
    return true;
  }
}

@SubCommand(commandMeta('keys', 'revoke'))
export class KeysRevokeCommand extends CommandRunner {
  private readonly out = new Output();

  constructor(private readonly keys: ApiKeysService) {
    super();
  }

  async run([ref]: string[], options: JsonOption): Promise<void> {
    printKey(this.out, await this.keys.revoke(ref, CLI_ACTOR), options.json);
  }

  @Option(optionMeta(['keys', 'revoke'], '--json'))
  parseJson(): boolean {
    return true;
  }
}

const SUBCOMMANDS = [KeysCreateCommand, KeysListCommand, KeysShowCommand, KeysUpdateCommand, KeysRotateCommand, KeysRevokeCommand];

@Command({ ...commandMeta('keys'), subCommands: SUBCOMMANDS })
export class KeysCommand extends CommandRunner {
  async run(): Promise<void> {
    throw new UsageError('vega keys: give a command: create, list, show, update, rotate, revoke');
  }
}

/** A change is announced to the running servers (Redis), as `/admin/keys` announces it. */
@Module({ imports: [KeysModule, CliChangeNoticesModule], providers: [KeysCommand, ...SUBCOMMANDS] })
export class KeysCommandsModule {}
