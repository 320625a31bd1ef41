import { createClient, createCluster, type RedisClientType, type RedisClusterType } from 'redis';

/** Between reconnection attempts, growing to this at most. */
const MAX_RECONNECT_DELAY_MS = 1_000;

/**
 * The commands Vega sends: each is routed by its (first) key, so a single node and a cluster
 * take them alike. Commands that reach one node of a cluster only (SCAN, KEYS, FLUSHDB) are
 * left out on purpose: code that needs one does not compile.
 */
export type RedisCommands = Pick<RedisClientType, 'get' | 'set' | 'incr' | 'zRem' | 'evalSha' | 'eval' | 'publish'>;

export interface RedisConnectionSettings {
  /** One node, or with `cluster` the seed nodes the cluster's layout is read from. */
  urls: readonly string[];
  cluster: boolean;
  timeoutMs: number;
}

export interface RedisConnectionEvents {
  /** A connection failed or dropped (node-redis reports every failed reconnection). */
  error(message: string): void;
  /** Commands can be sent again: the node, or the cluster's layout, answered. */
  ready(): void;
  /** The subscription connection is (again) ready: subscribe to every channel. */
  subscriberReady(): void;
}

/**
 * The connections to a single Redis or to a Redis Cluster, made the same way: commands never
 * queued while disconnected (they would run late), reconnection with a growing delay until
 * closed. `RedisClient` puts its timeout and breaker around them.
 */
export abstract class RedisConnection {
  protected closing = false;
  /** Settles when the first connection attempt has ended, made or failed. */
  abstract readonly firstAttempt: Promise<void>;
  abstract readonly commands: RedisCommands;

  static open(settings: RedisConnectionSettings, events: RedisConnectionEvents): RedisConnection {
    return settings.cluster ? new ClusterConnection(settings, events) : new NodeConnection(settings, events);
  }

  /** Whether commands can be sent. */
  abstract get ready(): boolean;
  /** Whether every node is connected (a cluster missing one master cannot answer for its slots). */
  abstract get whole(): boolean;
  /** Subscribes `channel` on the subscription connection (opened on first use). */
  abstract subscribe(channel: string, listener: (message: string) => void): Promise<void>;
  /** Whether the subscription connection is open and ready for `subscribe`. */
  abstract get subscriberReady(): boolean;
  /** Opens the subscription connection if it is not yet. */
  abstract openSubscriber(): void;

  /** Closes every connection: replies still due are awaited `timeoutMs` at most, then the sockets are dropped. */
  abstract close(timeoutMs: number): Promise<void>;

  protected socketOptions(settings: RedisConnectionSettings) {
    return {
      connectTimeout: Math.max(settings.timeoutMs, 1_000),
      reconnectStrategy: (retries: number) => (this.closing ? false : reconnectDelay(retries)),
    };
  }
}

class NodeConnection extends RedisConnection {
  readonly firstAttempt: Promise<void>;
  readonly commands: RedisClientType;
  private subscriber?: RedisClientType;

  constructor(
    settings: RedisConnectionSettings,
    private readonly events: RedisConnectionEvents,
  ) {
    super();
    const client = createClient({ url: settings.urls[0], disableOfflineQueue: true, socket: this.socketOptions(settings) }) as RedisClientType;
    this.commands = client;
    this.firstAttempt = settledOnce(client);
    client.on('error', (error: unknown) => events.error(messageOf(error)));
    client.on('ready', () => events.ready());
    void client.connect().catch(() => undefined);
  }

  get ready(): boolean {
    return this.commands.isReady;
  }

  get whole(): boolean {
    return this.commands.isReady;
  }

  get subscriberReady(): boolean {
    return this.subscriber?.isReady ?? false;
  }

  /** A second connection; node-redis subscribes it again by itself after a reconnection. */
  openSubscriber(): void {
    if (this.subscriber) return;
    const subscriber = this.commands.duplicate() as RedisClientType;
    this.subscriber = subscriber;
    subscriber.on('error', () => undefined);
    subscriber.on('ready', () => this.events.subscriberReady());
    void subscriber.connect().catch(() => undefined);
  }

  async subscribe(channel: string, listener: (message: string) => void): Promise<void> {
    await this.subscriber!.subscribe(channel, listener);
  }

  async close(timeoutMs: number): Promise<void> {
    this.closing = true;
    await Promise.all(
      [this.commands, this.subscriber].map(async (client) => {
        if (!client) return;
        if (client.isReady) await within(client.close().catch(() => undefined), timeoutMs);
        if (client.isOpen) client.destroy();
      }),
    );
  }
}

/**
 * A Redis Cluster through node-redis's cluster client: the layout is read from the first seed
 * node that answers, each command goes to the master of its key's slot (MOVED and ASK followed).
 * node-redis does not retry a cluster whose seeds all refused, so this does, with the same delay
 * as a node's reconnection. Notices use classic pub/sub on the cluster's one subscription node:
 * a PUBLISH reaches every node of a cluster, so any node will do.
 */
class ClusterConnection extends RedisConnection {
  readonly firstAttempt: Promise<void>;
  readonly commands: RedisClusterType;
  private connected = false;
  private subscribing = false;

  constructor(
    settings: RedisConnectionSettings,
    private readonly events: RedisConnectionEvents,
  ) {
    super();
    const socket = this.socketOptions(settings);
    const cluster = createCluster({
      rootNodes: settings.urls.map((url) => ({ url, socket })),
      // Nodes found in the layout are reached with the seed's credentials and TLS.
      defaults: { ...credentialsOf(settings.urls[0]!), disableOfflineQueue: true, socket: { ...socket, ...(settings.urls[0]!.startsWith('rediss:') ? { tls: true as const } : {}) } },
    }) as RedisClusterType;
    this.commands = cluster;
    cluster.on('error', (error: unknown) => events.error(messageOf(error)));
    cluster.on('node-error', (error: unknown) => events.error(messageOf(error)));
    // node-redis tells of a node's first `ready` only; one back after an outage is seen on its own client.
    cluster.on('node-reconnecting', ({ host, port }: { host: string; port: number }) => {
      cluster.nodeByAddress.get(`${host}:${port}`)?.client?.once('ready', () => events.ready());
    });
    this.firstAttempt = this.connect(0);
  }

  private async connect(attempt: number): Promise<void> {
    try {
      await this.commands.connect();
    } catch (error) {
      this.events.error(messageOf(error));
      if (this.closing) return;
      const retry = setTimeout(() => void this.connect(attempt + 1), reconnectDelay(attempt));
      retry.unref();
      return;
    }
    // Closed while the layout was being read: the node connections just made must not keep the process alive.
    if (this.closing) return void this.commands.destroy();
    this.connected = true;
    this.events.ready();
    if (this.subscribing) this.events.subscriberReady();
  }

  get ready(): boolean {
    return this.connected && this.commands.isOpen;
  }

  get whole(): boolean {
    return this.ready && this.commands.masters.every((master) => master.client?.isReady === true);
  }

  get subscriberReady(): boolean {
    return this.subscribing && this.ready;
  }

  /** The cluster client keeps its own subscription connection (to one node, chosen at random). */
  openSubscriber(): void {
    this.subscribing = true;
  }

  async subscribe(channel: string, listener: (message: string) => void): Promise<void> {
    await this.commands.subscribe(channel, listener);
  }

  async close(timeoutMs: number): Promise<void> {
    this.closing = true;
    if (this.ready) await within(this.commands.close().catch(() => undefined), timeoutMs);
    if (this.commands.isOpen) this.commands.destroy();
  }
}

/** The user name and password of a `redis://user:password@host` URL, for the nodes a cluster's layout names. */
function credentialsOf(url: string): { username?: string; password?: string } {
  const { username, password } = new URL(url);
  return {
    ...(username ? { username: decodeURIComponent(username) } : {}),
    ...(password ? { password: decodeURIComponent(password) } : {}),
  };
}

function reconnectDelay(attempt: number): number {
  return Math.min(50 * 2 ** attempt, MAX_RECONNECT_DELAY_MS);
}

function settledOnce(client: RedisClientType): Promise<void> {
  return new Promise<void>((settled) => {
    client.once('error', () => settled());
    client.once('ready', () => settled());
  });
}

/** Waits for `promise`, `ms` at most (never rejects). */
export async function within(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([promise.catch(() => undefined), new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
