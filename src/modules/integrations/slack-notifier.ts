import { Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { hostname } from 'node:os';
import { AppConfig, SlackNotifyKind } from '../../config/app-config';
import { BackendProbe, BackendState } from '../../core/health/backend-probe';
import type { BreakerState } from '../../core/llm/resilience/circuit-breaker';
import { LlmService } from '../../core/llm/llm.service';
import { AppLogger } from '../../core/logging/app-logger';
import { redactUrlCredentials } from '../admin/config-redaction';
import { SlackWebhookClient } from './slack-webhook.client';

/** One change worth a message: `label` names the new state in a summary ("open", "down"). */
interface Change {
  label: string;
  text: string;
}

/** Per kind: when its last message left, and the changes held back since. */
interface Window {
  lastSentAt: number;
  held: Change[];
  timer?: NodeJS.Timeout;
}

/** Messages waiting for delivery beyond which new ones are dropped (and logged): Slack is down or slow. */
const MAX_QUEUED = 10;

/**
 * Announces in Slack, when `SLACK_NOTIFY` asks for it, a model server's circuit breaker opening
 * and closing (`breaker`) and the background probe seeing a model server go down and come back
 * (`backend`), each naming the server (its target name). At most one message per kind every `SLACK_NOTIFY_INTERVAL_SEC`: a change inside
 * that window is held back, and when the window ends one message gives the latest state and the
 * changes held back, so a flapping backend cannot flood the channel.
 *
 * Delivery happens in the background, one message after another: a listener never waits for
 * Slack, and a failure is logged (without the webhook URL) and otherwise ignored.
 */
@Injectable()
export class SlackNotifier implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly windows = new Map<SlackNotifyKind, Window>();
  private readonly stopping = new AbortController();
  private queue: Promise<void> = Promise.resolve();
  private queued = 0;
  private readonly origin = `Vega on ${hostname()}`;

  constructor(
    private readonly config: AppConfig,
    private readonly slack: SlackWebhookClient,
    private readonly llm: LlmService,
    private readonly probe: BackendProbe,
    private readonly logger: AppLogger,
  ) {}

  onApplicationBootstrap(): void {
    const kinds = this.config.slack.notify;
    if (!this.slack.configured) return;
    if (kinds.includes('breaker')) {
      // Half-open is still "open" to a reader: a failed probe re-opening the breaker is no news.
      const open = new Set<string>();
      this.llm.onBreakerChange((state, target) => {
        if (state === 'half_open' || (state === 'open') === open.has(target)) return;
        if (state === 'open') open.add(target);
        else open.delete(target);
        this.breakerChanged(state, target);
      });
    }
    if (kinds.includes('backend')) {
      // A target's first "up" is the start, not a recovery; a "down" then is worth saying.
      const seen = new Set<string>();
      this.probe.onStatusChange((state, target) => {
        const first = !seen.has(target);
        seen.add(target);
        if (state.up && first) return;
        this.backendChanged(state, target);
      });
    }
  }

  onApplicationShutdown(): void {
    for (const window of this.windows.values()) clearTimeout(window.timer);
    this.stopping.abort();
  }

  /** Each target has its own breaker; the message names it, and says whether others still serve. */
  private breakerChanged(state: BreakerState, target: string): void {
    const server = this.serverName(target);
    if (state === 'open') {
      const seconds = Math.round(this.config.llm.breaker.resetMs / 100) / 10;
      const refused = this.llm.targetNames().length > 1 ? 'its requests go to the other model servers' : 'chat requests are refused (503)';
      this.announce('breaker', {
        label: this.label(target, 'open'),
        text: `:rotating_light: ${this.origin}: the circuit breaker opened for ${server} — it keeps failing, so ${refused} and a probe request is tried every ${seconds} s.`,
      });
    } else if (state === 'closed') {
      this.announce('breaker', { label: this.label(target, 'closed'), text: `:white_check_mark: ${this.origin}: the circuit breaker closed for ${server} — it answers again.` });
    }
  }

  private backendChanged(state: Readonly<BackendState>, target: string): void {
    if (state.up) {
      this.announce('backend', { label: this.label(target, 'up'), text: `:large_green_circle: ${this.origin}: ${this.serverName(target, state.version)} is back up.` });
    } else {
      const reason = redactUrlCredentials(state.error ?? 'no reason given');
      this.announce('backend', { label: this.label(target, 'down'), text: `:red_circle: ${this.origin}: ${this.serverName(target)} is down: ${reason}` });
    }
  }

  /** `the model backend gpu-1 (ollama 0.12.6)`: the target's name, kind and version when known. */
  private serverName(target: string, version?: string | null): string {
    const kind = this.llm.backends().find((backend) => backend.name === target)?.kind ?? this.llm.backendKind;
    return `the model backend ${target} (${kind}${version ? ` ${version}` : ''})`;
  }

  /** A change in a summary's trail: the state, after the target's name when there are several. */
  private label(target: string, state: string): string {
    return this.llm.targetNames().length > 1 ? `${target} ${state}` : state;
  }

  /** Sends now when the kind's window allows, else holds the change for the summary at the window's end. */
  private announce(kind: SlackNotifyKind, change: Change): void {
    if (this.stopping.signal.aborted) return;
    const window = this.windowOf(kind);
    const now = Date.now();
    const interval = this.config.slack.notifyIntervalMs;
    if (!window.timer && now - window.lastSentAt >= interval) {
      window.lastSentAt = now;
      return this.deliver(kind, change.text);
    }
    window.held.push(change);
    if (window.timer) return;
    window.timer = setTimeout(() => this.flush(kind), window.lastSentAt + interval - now);
    window.timer.unref();
  }

  private flush(kind: SlackNotifyKind): void {
    const window = this.windowOf(kind);
    window.timer = undefined;
    const held = window.held.splice(0);
    if (held.length === 0) return;
    window.lastSentAt = Date.now();
    const seconds = Math.round(this.config.slack.notifyIntervalMs / 1000);
    const latest = held[held.length - 1];
    const trail = held.map((change) => change.label).join(' → ');
    const count = held.length === 1 ? '1 change' : `${held.length} changes`;
    this.deliver(kind, `${latest.text}\n_${count} in the last ${seconds} s, held back to keep this channel quiet: ${trail}_`);
  }

  private windowOf(kind: SlackNotifyKind): Window {
    let window = this.windows.get(kind);
    if (!window) this.windows.set(kind, (window = { lastSentAt: Number.NEGATIVE_INFINITY, held: [] }));
    return window;
  }

  private deliver(kind: SlackNotifyKind, text: string): void {
    if (this.queued >= MAX_QUEUED) {
      this.logger.pino.warn({ kind }, 'Slack notification dropped: too many messages waiting for delivery');
      return;
    }
    this.queued += 1;
    this.queue = this.queue
      .then(() => this.slack.send(text, this.stopping.signal))
      .then(
        () => this.logger.pino.info({ kind }, 'Slack notification sent'),
        (error: unknown) => {
          if (this.stopping.signal.aborted) return;
          this.logger.pino.warn({ kind, reason: error instanceof Error ? error.message : String(error) }, 'Slack notification failed');
        },
      )
      .finally(() => (this.queued -= 1));
  }
}
