import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SlackReply {
  status: number;
  body: string;
}

export interface SlackMessage {
  path: string;
  contentType: string | undefined;
  /** The parsed JSON body (`{ text }`). */
  body: { text?: string; [key: string]: unknown };
  receivedAt: number;
}

/** The secret part of the fake webhook's path: tests check it never shows in logs or answers. */
export const FAKE_WEBHOOK_TOKEN = 'XXfakeWebhookSecret0123456789';

/**
 * A fake Slack incoming webhook on 127.0.0.1, speaking Slack's wire format: `POST` JSON
 * `{"text": "…"}` → `200 ok`; a body that is not JSON with a `text` → `400 invalid_payload`;
 * a path outside `/services/…` → `404 no_service`. `enqueue` makes the next posts fail (e.g.
 * `403 invalid_token`, `410 channel_is_archived`, `500`). Every delivered or refused post is
 * recorded in `messages`.
 */
export class FakeSlack {
  readonly messages: SlackMessage[] = [];
  private readonly replies: SlackReply[] = [];
  private server?: Server;
  private base = '';

  /** The webhook URL to put in SLACK_WEBHOOK_URL. */
  get webhookUrl(): string {
    return `${this.base}/services/T0000TEST/B0000TEST/${FAKE_WEBHOOK_TOKEN}`;
  }

  get host(): string {
    return new URL(this.base).host;
  }

  /** The next posts get these answers, in order (then `200 ok` again). */
  enqueue(...replies: SlackReply[]): void {
    this.replies.push(...replies);
  }

  reset(): void {
    this.messages.length = 0;
    this.replies.length = 0;
  }

  /** Resolves once `count` messages arrived (or rejects after `timeoutMs`). */
  async waitFor(count: number, timeoutMs = 5_000): Promise<SlackMessage[]> {
    const until = Date.now() + timeoutMs;
    while (this.messages.length < count) {
      if (Date.now() > until) throw new Error(`expected ${count} Slack messages, got ${this.messages.length}: ${JSON.stringify(this.texts())}`);
      await new Promise((wait) => setTimeout(wait, 20));
    }
    return this.messages.slice();
  }

  texts(): string[] {
    return this.messages.map((message) => message.body.text ?? '');
  }

  async start(): Promise<void> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const path = new URL(req.url ?? '/', 'http://x').pathname;
        let body: SlackMessage['body'] = {};
        let reply: SlackReply | undefined;
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as SlackMessage['body'];
        } catch {
          reply = { status: 400, body: 'invalid_payload' };
        }
        if (req.method !== 'POST' || !path.startsWith('/services/')) reply = { status: 404, body: 'no_service' };
        else if (!reply && typeof body.text !== 'string') reply = { status: 400, body: 'invalid_payload' };
        this.messages.push({ path, contentType: req.headers['content-type'], body, receivedAt: Date.now() });
        reply ??= this.replies.shift() ?? { status: 200, body: 'ok' };
        res.writeHead(reply.status, { 'content-type': 'text/html' });
        res.end(reply.body);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.server = server;
    this.base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
