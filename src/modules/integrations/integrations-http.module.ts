import { Module } from '@nestjs/common';
import { BackendProbeModule } from '../../core/health/backend-probe.module';
import { LlmModule } from '../../core/llm/llm.module';
import { IntegrationsController } from './integrations.controller';
import { IntegrationsModule } from './integrations.module';
import { SlackNotifier } from './slack-notifier';

/**
 * `POST /integrations/test` and the Slack notifications. Only the long-running HTTP app
 * notifies: a CLI command has no breaker history or background probe worth announcing.
 */
@Module({
  imports: [IntegrationsModule, LlmModule, BackendProbeModule],
  controllers: [IntegrationsController],
  providers: [SlackNotifier],
})
export class IntegrationsHttpModule {}
