import { Module } from '@nestjs/common';
import { Command, CommandRunner, Option } from 'nest-commander';
import { DataSource } from 'typeorm';
import { AppConfig } from '../../config/app-config';
import { LlmModule } from '../../core/llm/llm.module';
import { LlmService } from '../../core/llm/llm.service';
import { PersistenceModule } from '../../core/persistence/persistence.module';
import { redactUrlCredentials } from '../../modules/admin/config-redaction';
import { databaseLabel } from '../../core/persistence/database-settings';
import { commandMeta, optionMeta } from '../catalogue';
import { CommandFailedError } from '../cli-errors';
import { Output } from '../output/output';

const PROBE_TIMEOUT_MS = 5_000;

interface Check {
  ok: boolean;
  detail: string;
  [key: string]: unknown;
}

/** A model name as Ollama lists it: `mistral` is `mistral:latest`. */
const fullName = (name: string) => (name.includes(':') ? name : `${name}:latest`);

/**
 * `vega health`: checks now (not the server's background probe) that the model backend
 * answers, that the configured model is on it, and that the database opens, is migrated and
 * answers a query. Exit 1 when any check fails.
 */
@Command(commandMeta('health'))
export class HealthCommand extends CommandRunner {
  private readonly out = new Output();

  constructor(
    private readonly config: AppConfig,
    private readonly llm: LlmService,
    private readonly dataSource: DataSource,
  ) {
    super();
  }

  async run(_args: string[], options: { json?: boolean }): Promise<void> {
    const [backend, database] = await Promise.all([this.checkBackend(), this.checkDatabase()]);
    const checks: Record<string, Check> = { backend: backend.check, model: await this.checkModel(backend.models), database };
    const ok = Object.values(checks).every((check) => check.ok);
    if (options.json) this.out.json({ ok, checks });
    else {
      const c = this.out.colour;
      for (const [name, check] of Object.entries(checks)) {
        this.out.line(`${check.ok ? c.green('ok  ') : c.red('FAIL')}  ${name.padEnd(8)}  ${check.detail}`);
      }
    }
    if (!ok) {
      const failed = Object.keys(checks).filter((name) => !checks[name].ok);
      throw new CommandFailedError(`unhealthy: ${failed.map((name) => `${name} (${checks[name].detail})`).join('; ')}`);
    }
  }

  private async checkBackend(): Promise<{ check: Check; models?: string[] }> {
    const urls = this.config.llm.urls.map(redactUrlCredentials);
    const started = performance.now();
    try {
      const signal = AbortSignal.timeout(PROBE_TIMEOUT_MS);
      const version = await this.llm.backendVersion(signal);
      const latencyMs = Math.round((performance.now() - started) * 10) / 10;
      const models = (await this.llm.listModels(signal)).map((model) => model.name);
      return { check: { ok: true, detail: `${this.llm.backendKind} ${version} at ${urls.join(', ')} (${latencyMs} ms)`, version, urls, latency_ms: latencyMs }, models };
    } catch (error) {
      const reason = error instanceof DOMException && error.name === 'TimeoutError' ? `no answer within ${PROBE_TIMEOUT_MS} ms` : errorText(error);
      return { check: { ok: false, detail: `${urls.join(', ')} unreachable: ${reason}`, urls, error: reason } };
    }
  }

  private async checkModel(models: string[] | undefined): Promise<Check> {
    const name = this.config.llm.model;
    if (!models) return { ok: false, detail: `${name}: cannot tell, the backend is unreachable`, name };
    const present = models.some((model) => fullName(model) === fullName(name));
    return present
      ? { ok: true, detail: `${name} is available`, name }
      : { ok: false, detail: `${name} is not on the backend (ollama pull ${name}); it has: ${models.join(', ') || 'no models'}`, name, available: models };
  }

  private async checkDatabase(): Promise<Check> {
    const path = databaseLabel(this.config.database);
    try {
      await this.dataSource.query('SELECT 1');
      const pending = await this.dataSource.showMigrations();
      if (pending) return { ok: false, detail: `${path}: migrations pending`, path };
      return { ok: true, detail: `${path} (migrated, answering)`, path };
    } catch (error) {
      return { ok: false, detail: `${path}: ${errorText(error)}`, path, error: errorText(error) };
    }
  }

  @Option(optionMeta(['health'], '--json'))
  parseJson(): boolean {
    return true;
  }
}

const errorText = (error: unknown) => (error instanceof Error ? error.message : String(error));

@Module({ imports: [LlmModule, PersistenceModule], providers: [HealthCommand] })
export class HealthCommandModule {}
