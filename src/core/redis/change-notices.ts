import { randomUUID } from 'node:crypto';
import { Logger, type BeforeApplicationShutdown } from '@nestjs/common';
import { RedisClient } from './redis.client';

const CHANNEL = 'changes';

/** What changed on one instance that every other must apply: a key, the generation settings, the system prompt, the backends file, the answer cache cleared. */
export type ChangeTopic = 'keys' | 'generation' | 'system-prompt' | 'backends' | 'cache';

interface Notice {
  from: string;
  topic: ChangeTopic;
  payload?: unknown;
}

export interface ChangeNoticeOptions {
  /** Whether this process applies the others' notices (a server), or only sends its own (a CLI command). */
  listen?: boolean;
  /** Called for a notice Redis did not take (down, or too slow): the others do not learn of the change. */
  onDropped?: (topic: ChangeTopic) => void;
}

/**
 * Changes made on one instance, pushed to the others by Redis pub/sub (one channel, received
 * within milliseconds). An instance ignores its own notices: it applied the change already.
 * Provided only with `REDIS_URL`; without it there is one instance and nothing to tell. The CLI
 * sends them too (`vega keys …`, `vega gen …`), without listening; the notices still being sent
 * are awaited before the process closes Redis (each within `REDIS_TIMEOUT_MS`).
 */
export class ChangeNotices implements BeforeApplicationShutdown {
  private readonly instance = randomUUID();
  private readonly logger = new Logger('ChangeNotices');
  private readonly handlers = new Map<ChangeTopic, ((payload: unknown) => void)[]>();
  private readonly sending = new Set<Promise<void>>();

  constructor(
    private readonly redis: RedisClient,
    private readonly options: ChangeNoticeOptions = {},
  ) {
    if (options.listen ?? true) redis.subscribe(CHANNEL, (message) => this.receive(message));
  }

  announce(topic: ChangeTopic, payload?: unknown): void {
    const notice: Notice = { from: this.instance, topic, ...(payload === undefined ? {} : { payload }) };
    const sent = this.redis.publish(CHANNEL, JSON.stringify(notice)).then((taken) => {
      if (!taken) this.options.onDropped?.(topic);
      this.sending.delete(sent);
    });
    this.sending.add(sent);
  }

  async beforeApplicationShutdown(): Promise<void> {
    await Promise.all(this.sending);
  }

  on(topic: ChangeTopic, handler: (payload: unknown) => void): void {
    this.handlers.set(topic, [...(this.handlers.get(topic) ?? []), handler]);
  }

  private receive(message: string): void {
    let notice: Notice;
    try {
      notice = JSON.parse(message) as Notice;
    } catch {
      return;
    }
    if (notice.from === this.instance) return;
    for (const handler of this.handlers.get(notice.topic) ?? []) {
      try {
        handler(notice.payload);
      } catch (error) {
        this.logger.warn(`applying a ${notice.topic} change from another instance failed: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  }
}
