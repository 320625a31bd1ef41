import { Module } from '@nestjs/common';
import { OutboundModule } from '../../core/outbound/outbound.module';
import { IntegrationsService } from './integrations.service';
import { SlackWebhookClient } from './slack-webhook.client';

/** The Slack webhook client and the test message, without transport: shared by the HTTP app and the CLI. */
@Module({
  imports: [OutboundModule],
  providers: [SlackWebhookClient, IntegrationsService],
  exports: [SlackWebhookClient, IntegrationsService],
})
export class IntegrationsModule {}
