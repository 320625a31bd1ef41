import { Module } from '@nestjs/common';
import { Command, CommandRunner, Option, SubCommand } from 'nest-commander';
import { IntegrationsModule } from '../../modules/integrations/integrations.module';
import { IntegrationsService } from '../../modules/integrations/integrations.service';
import { commandMeta, optionMeta } from '../catalogue';
import { UsageError } from '../cli-errors';
import { Output } from '../output/output';

/**
 * `vega integrations test`: the test message of `POST /integrations/test`, sent from here.
 * Exit 0 when Slack accepted it, 1 when Slack refused it or could not be reached, 2 when Slack
 * is not configured (or the SSRF guard refuses its address) — the error's status says which.
 */
@SubCommand(commandMeta('integrations', 'test'))
export class IntegrationsTestCommand extends CommandRunner {
  private readonly out = new Output();

  constructor(private readonly integrations: IntegrationsService) {
    super();
  }

  async run(_args: string[], options: { json?: boolean }): Promise<void> {
    try {
      const result = await this.integrations.sendTestMessage('cli');
      if (options.json) this.out.json(result);
      else this.out.line(`${this.out.colour.green('ok')}  Slack accepted the test message (HTTP ${result.status})`);
    } catch (error) {
      if (options.json) this.out.json({ ok: false, error: error instanceof Error ? error.message : String(error) });
      throw error;
    }
  }

  @Option(optionMeta(['integrations', 'test'], '--json'))
  parseJson(): boolean {
    return true;
  }
}

@Command({ ...commandMeta('integrations'), subCommands: [IntegrationsTestCommand] })
export class IntegrationsCommand extends CommandRunner {
  async run(): Promise<void> {
    throw new UsageError('vega integrations: give a command: test');
  }
}

/** The Slack client and the outbound fetcher only: no database, no model backend. */
@Module({ imports: [IntegrationsModule], providers: [IntegrationsCommand, IntegrationsTestCommand] })
export class IntegrationsCommandModule {}
