import { Injectable } from '@nestjs/common';
import { hostname } from 'node:os';
import { version } from '../../../package.json';
import { SlackWebhookClient } from './slack-webhook.client';

export interface IntegrationTestResult {
  ok: true;
  /** Slack's HTTP status. */
  status: number;
  /** The text that was posted. */
  text: string;
}

/** What `POST /integrations/test` and `vega integrations test` do: one test message to Slack. */
@Injectable()
export class IntegrationsService {
  constructor(private readonly slack: SlackWebhookClient) {}

  async sendTestMessage(via: 'api' | 'cli'): Promise<IntegrationTestResult> {
    const text = `:white_check_mark: Vega ${version} on ${hostname()}: test message (sent from the ${via === 'api' ? 'API' : 'CLI'} at ${new Date().toISOString()}). The Slack integration works.`;
    const { status } = await this.slack.send(text);
    return { ok: true, status, text };
  }
}
