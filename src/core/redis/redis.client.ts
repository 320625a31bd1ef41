import { createHash } from 'node:crypto';
import { Logger, type OnApplicationShutdown } from '@nestjs/common';
import { CounterFamily } from '../metrics/metric-families';
import { CircuitBreaker } from '../llm/resilience/circuit-breaker';
import { RedisConnection, messageOf, within, type RedisCommands } from './redis-connection';

/** Consecutive failed calls that open the breaker, and how long it then stays open before one probe. */
const BREAKER = { failThreshold: 3, resetMs: 1_000 };
export interface RedisSettings {
  /** One node, or with `cluster` (`REDIS_CLUSTER`) the cluster's seed nodes. */
  urls: readonly string[];
  cluster: boolean;
  timeoutMs: number;
  prefix: string;
}

/** Redis did not answer in time, refused, or its breaker is open: the caller falls back. */
export class RedisUnavailableError extends Error {
  override readonly name = 'RedisUnavailableError';
}

/** A Lua script, run by its SHA1 (`EVALSHA`) and sent whole only when the server does not know it yet. */
export class RedisScript {
  readonly sha: string;
  constructor(readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }
}

type Client = RedisCommands;

/**
 * The one connection to Redis, a single node or a cluster (and one for subscriptions). Every call is bounded by
 * `REDIS_TIMEOUT_MS` and goes through a circuit breaker: while Redis is down or stopped
 * answering, callers get `RedisUnavailableError` at once instead of waiting, and fall back to
 * what this instance knows. Commands are never queued while disconnected (they would run late).
 */
export class RedisClient implements OnApplicationShutdown {
  readonly errors = new CounterFamily('vega_redis_errors_total', 'Redis calls that failed, timed out or were refused by the open breaker, by operation.', ['op']);
  readonly fallbacks = new CounterFamily(
    'vega_redis_fallbacks_total',
    "Decisions taken without Redis while it was unreachable, by what: rate_limit (this instance's counters), budget_open, budget_closed, cache (L1 only), publish (a change notice not sent), routing (a place on a target counted by this instance alone).",
    ['what'],
  );
  private readonly logger = new Logger('Redis');
  private readonly connection: RedisConnection;
  private readonly handlers = new Map<string, ((message: string) => void)[]>();
  private readonly subscribed = new Set<string>();
  private readonly breaker = new CircuitBreaker(BREAKER);
  private closing = false;
  private down = false;

  constructor(
    private readonly settings: RedisSettings,
    /** What a fallback means, said once in the log line when Redis goes away. */
    private readonly fallbackNote: string,
  ) {
    // node-redis reports every failed reconnection; one line per outage is enough.
    this.connection = RedisConnection.open(settings, {
      error: (message) => this.reportDown(message),
      ready: () => {
        this.breaker.reset();
        this.reportUp();
      },
      subscriberReady: () => {
        for (const name of this.handlers.keys()) void this.listen(name);
      },
    });
    this.breaker.onStateChange((state) => {
      if (state === 'open') this.reportDown('it stopped answering');
      if (state === 'closed') this.reportUp();
    });
  }

  /** One warning per outage, whether the connection dropped or Redis stopped answering on it. */
  private reportDown(why: string): void {
    if (this.down || this.closing) return;
    this.down = true;
    this.logger.warn(`Redis is unreachable (${why}): ${this.fallbackNote}, until it answers again`);
  }

  private reportUp(): void {
    if (!this.down) return;
    this.down = false;
    this.logger.log('Redis answers again: limits, budgets and the cache are shared again');
  }

  /** Whether Redis answers: connected (a cluster: to every master) and its breaker closed. */
  get up(): boolean {
    return this.connection.whole && this.breaker.state === 'closed';
  }

  /** `REDIS_PREFIX` + the parts, joined by `:`. */
  key(...parts: string[]): string {
    return this.settings.prefix + parts.join(':');
  }

  /** Runs one call within the timeout, behind the breaker; throws `RedisUnavailableError` when Redis cannot answer. */
  async call<T>(op: string, run: (client: Client) => Promise<T>): Promise<T> {
    // A call made while the first connection is still being made (a CLI command that announces a
    // change right after start) waits for it, within the same bound as any call.
    if (!this.connection.ready) await within(this.connection.firstAttempt, this.settings.timeoutMs);
    const permit = this.connection.ready ? this.breaker.acquire() : null;
    if (!permit) {
      this.errors.with(op).inc();
      throw new RedisUnavailableError(this.connection.ready ? 'Redis breaker is open' : 'not connected to Redis');
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new RedisUnavailableError(`Redis did not answer within ${this.settings.timeoutMs} ms`)), this.settings.timeoutMs);
    });
    try {
      const result = await Promise.race([run(this.connection.commands), timeout]);
      permit.success();
      return result;
    } catch (error) {
      permit.failure();
      this.errors.with(op).inc();
      throw error instanceof RedisUnavailableError ? error : new RedisUnavailableError(`Redis ${op} failed: ${messageOf(error)}`, { cause: error });
    } finally {
      clearTimeout(timer);
    }
  }

  /** A Lua script by `EVALSHA`, sent with `EVAL` when the server does not have it (a restart flushed its script cache). */
  eval(op: string, script: RedisScript, keys: string[], args: (string | number)[]): Promise<unknown> {
    const options = { keys, arguments: args.map(String) };
    return this.call(op, async (client) => {
      try {
        return await client.evalSha(script.sha, options);
      } catch (error) {
        if (!messageOf(error).startsWith('NOSCRIPT')) throw error;
        return client.eval(script.source, options);
      }
    });
  }

  /** Publishes a notice to every instance (this one included); a notice Redis cannot take is counted and dropped (false). */
  async publish(channel: string, message: string): Promise<boolean> {
    try {
      await this.call('publish', (client) => client.publish(this.key(channel), message));
      return true;
    } catch {
      this.fallbacks.with('publish').inc();
      return false;
    }
  }

  /** Calls `handler` with every notice published on `channel`, from the next (re)connection on. */
  subscribe(channel: string, handler: (message: string) => void): void {
    const name = this.key(channel);
    const known = this.handlers.get(name);
    if (known) return void known.push(handler);
    this.handlers.set(name, [handler]);
    this.connection.openSubscriber();
    if (this.connection.subscriberReady) void this.listen(name);
  }

  /**
   * Closes both connections: the replies still due are awaited within `REDIS_TIMEOUT_MS`, then the
   * sockets are dropped (a Redis that stopped answering would otherwise hold the shutdown forever).
   */
  async onApplicationShutdown(): Promise<void> {
    this.closing = true;
    await this.connection.close(this.settings.timeoutMs);
  }

  private async listen(name: string): Promise<void> {
    if (this.subscribed.has(name)) return;
    this.subscribed.add(name);
    try {
      await this.connection.subscribe(name, (message: string) => {
        for (const handler of this.handlers.get(name) ?? []) handler(message);
      });
    } catch (error) {
      this.subscribed.delete(name);
      this.logger.warn(`Redis subscription to ${name} failed: ${messageOf(error)}`);
    }
  }
}
