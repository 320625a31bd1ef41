import { Injectable } from '@nestjs/common';
import { AppConfig } from '../../config/app-config';
import {
  AppError,
  FetchRefusedError,
  InvalidInputError,
  UpstreamError,
  UpstreamTimeoutError,
} from '../../common/errors/app-errors';
import { decodeBody, OutboundFetcher } from '../../core/outbound/outbound-fetcher';

/** The longest piece of Slack's error body repeated in a message (its errors are one word). */
const MAX_ERROR_TEXT = 200;

export interface SlackDelivery {
  /** Slack's HTTP status (200). */
  status: number;
}

/**
 * Posts messages to the Slack incoming webhook (`SLACK_WEBHOOK_URL`) through the one outbound
 * fetcher, so the SSRF rules apply to it as to any fetch. Slack answers `200 ok`, or an error
 * status with a short reason (`invalid_payload`, `invalid_token`, `no_service`,
 * `channel_is_archived`…) that becomes a 502 naming it.
 *
 * The webhook URL is a credential (its path is the token): no error, and so no log line, ever
 * carries it; the fetcher's messages are rewritten to name only Slack's origin.
 */
@Injectable()
export class SlackWebhookClient {
  private readonly webhookUrl?: URL;

  constructor(
    config: AppConfig,
    private readonly fetcher: OutboundFetcher,
  ) {
    this.webhookUrl = config.slack.webhookUrl === undefined ? undefined : new URL(config.slack.webhookUrl);
  }

  get configured(): boolean {
    return this.webhookUrl !== undefined;
  }

  /** Sends `text`; throws `InvalidInputError` when no webhook is configured, an app error when delivery fails. */
  async send(text: string, signal?: AbortSignal): Promise<SlackDelivery> {
    const url = this.webhookUrl;
    if (!url) throw new InvalidInputError('Slack is not configured: set SLACK_WEBHOOK_URL to an incoming webhook URL');
    let status: number;
    let answer: string;
    try {
      const result = await this.fetcher.fetch(url.href, {
        method: 'POST',
        headers: { 'content-type': 'application/json; charset=utf-8' },
        body: JSON.stringify({ text }),
        maxBytes: 64 * 1024,
        truncate: true,
        signal,
      });
      status = result.status;
      answer = decodeBody(result).trim();
    } catch (error) {
      throw this.withoutSecret(error, url);
    }
    if (status >= 200 && status < 300) return { status };
    const reason = answer.slice(0, MAX_ERROR_TEXT) || 'no reason given';
    throw new UpstreamError(`Slack refused the message (HTTP ${status}): ${reason}`);
  }

  /** The same kind of error, its message naming `https://hooks.slack.com/…` instead of the URL, and no `cause`. */
  private withoutSecret(error: unknown, url: URL): unknown {
    if (!(error instanceof AppError)) return new UpstreamError('Could not reach the Slack webhook');
    const safe = `${url.origin}/…`;
    let message = error.message.split(url.href).join(safe);
    if (url.pathname.length > 1) message = message.split(url.pathname).join('/…');
    if (error instanceof FetchRefusedError) return new FetchRefusedError(message);
    if (error instanceof UpstreamTimeoutError) return new UpstreamTimeoutError(message);
    if (error instanceof InvalidInputError) return new InvalidInputError(message);
    return new UpstreamError(message);
  }
}
