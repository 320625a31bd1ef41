import { Module } from '@nestjs/common';
import { Command, CommandRunner, Option, SubCommand } from 'nest-commander';
import { AppConfig } from '../../config/app-config';
import type { BackendDto, BackendListDto, BackendsReloadDto } from '../../modules/admin/dto/backends.dto';
import { commandMeta, optionMeta } from '../catalogue';
import { CommandFailedError } from '../cli-errors';
import { Output } from '../output/output';
import { renderTable } from '../output/table';
import { callServer } from './server-client';

const BACKENDS = ['backends'];
const SERVER_TIMEOUT_MS = 5_000;

/**
 * The state of the model servers lives in the running server (in flight, breakers, draining):
 * these commands ask it over HTTP rather than open a pool of their own.
 */
async function askServer(config: AppConfig, method: 'GET' | 'POST', path: string): Promise<Record<string, unknown>> {
  const answer = await callServer(config, method, path, SERVER_TIMEOUT_MS);
  if (answer.status === 'no-key') throw new CommandFailedError(`cannot ask the server at ${answer.url}: ${answer.detail}`);
  if (answer.status !== 'answered') throw new CommandFailedError(`no Vega server answers at ${answer.url} (${answer.detail}); is it running (vega serve)?`);
  if (answer.code >= 200 && answer.code < 300) return answer.body;
  const message = typeof answer.body.message === 'string' ? answer.body.message : `HTTP ${answer.code}`;
  throw new CommandFailedError(`the server refused: ${message}`);
}

/** `vega backends drain NAME` / `resume NAME`: one line, or the target's new status as JSON. */
abstract class BackendSwitchCommand extends CommandRunner {
  private readonly out = new Output();

  constructor(
    private readonly config: AppConfig,
    private readonly action: 'drain' | 'resume',
  ) {
    super();
  }

  async run([name]: string[], options: { json?: boolean }): Promise<void> {
    const backend = (await askServer(this.config, 'POST', `/admin/backends/${encodeURIComponent(name!)}/${this.action}`)) as unknown as BackendDto;
    if (options.json) return this.out.json(backend);
    const c = this.out.colour;
    if (this.action === 'drain') {
      this.out.line(`${c.yellow('draining')}  ${backend.name}: nothing new is sent to it; ${backend.in_flight} in flight finishing (vega backends resume ${backend.name} to undo)`);
    } else this.out.line(`${c.green('resumed')}  ${backend.name}: it takes requests again`);
  }
}

@SubCommand(commandMeta(...BACKENDS, 'drain'))
export class BackendsDrainCommand extends BackendSwitchCommand {
  constructor(config: AppConfig) {
    super(config, 'drain');
  }

  @Option(optionMeta([...BACKENDS, 'drain'], '--json'))
  parseJson(): boolean {
    return true;
  }
}

@SubCommand(commandMeta(...BACKENDS, 'resume'))
export class BackendsResumeCommand extends BackendSwitchCommand {
  constructor(config: AppConfig) {
    super(config, 'resume');
  }

  @Option(optionMeta([...BACKENDS, 'resume'], '--json'))
  parseJson(): boolean {
    return true;
  }
}

/** `vega backends reload`: the running server reads BACKENDS_FILE again; what changed, or the API's JSON. */
@SubCommand(commandMeta(...BACKENDS, 'reload'))
export class BackendsReloadCommand extends CommandRunner {
  private readonly out = new Output();

  constructor(private readonly config: AppConfig) {
    super();
  }

  async run(_args: string[], options: { json?: boolean }): Promise<void> {
    const reload = (await askServer(this.config, 'POST', '/admin/backends/reload')) as unknown as BackendsReloadDto;
    if (options.json) return this.out.json(reload);
    const c = this.out.colour;
    const said = (['added', 'removed', 'changed'] as const).filter((what) => reload[what].length > 0).map((what) => `${what} ${reload[what].join(', ')}`);
    if (reload.file === null) this.out.line(`no BACKENDS_FILE: the model servers come from OLLAMA_URL or OPENAI_BASE_URL, read at start; nothing to reload`);
    else this.out.line(`${c.green('reloaded')}  ${reload.file}: ${said.length > 0 ? said.join('; ') : 'no target changed'}`);
    this.out.line(`Targets: ${reload.targets.join(', ')} (strategy ${reload.strategy})`);
  }

  @Option(optionMeta([...BACKENDS, 'reload'], '--json'))
  parseJson(): boolean {
    return true;
  }
}

/** `vega backends`: every target as a table, or the API's JSON. */
@Command({ ...commandMeta(...BACKENDS), subCommands: [BackendsDrainCommand, BackendsResumeCommand, BackendsReloadCommand] })
export class BackendsCommand extends CommandRunner {
  private readonly out = new Output();

  constructor(private readonly config: AppConfig) {
    super();
  }

  async run(_args: string[], options: { json?: boolean }): Promise<void> {
    const list = (await askServer(this.config, 'GET', '/admin/backends')) as unknown as BackendListDto;
    if (options.json) return this.out.json(list);
    const c = this.out.colour;
    const health = (row: BackendDto) => (row.health === 'up' ? c.green(row.health) : row.health === 'down' ? c.red(row.health) : c.yellow(row.health));
    this.out.write(
      renderTable<BackendDto>(
        list.backends,
        [
          { header: 'NAME', value: (row) => row.name },
          { header: 'KIND', value: (row) => row.kind },
          { header: 'HEALTH', value: (row) => (row.draining ? `${health(row)} ${c.yellow('draining')}` : health(row)) },
          { header: 'BREAKER', value: (row) => (row.breaker === 'closed' ? row.breaker : c.yellow(row.breaker)) },
          { header: 'IN FLIGHT', value: (row) => `${row.in_flight}/${row.max_concurrency || '∞'}`, align: 'right' },
          { header: 'QUEUED', value: (row) => String(row.queued), align: 'right' },
          { header: 'P50 MS', value: (row) => (row.p50_latency_ms === null ? '-' : String(Math.round(row.p50_latency_ms))), align: 'right' },
          { header: 'REQUESTS', value: (row) => String(row.requests), align: 'right' },
          { header: 'ERRORS', value: (row) => String(row.errors), align: 'right' },
          { header: 'LOADED', value: (row) => row.loaded_models.join(', ') || '-', flex: true },
        ],
        { width: this.out.width, header: c.dim },
      ),
    );
    this.out.line(`Strategy: ${list.strategy}`);
  }

  @Option(optionMeta(BACKENDS, '--json'))
  parseJson(): boolean {
    return true;
  }
}

@Module({ providers: [BackendsCommand, BackendsDrainCommand, BackendsResumeCommand, BackendsReloadCommand] })
export class BackendsCommandsModule {}
