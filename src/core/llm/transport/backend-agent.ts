import { Agent } from 'undici';

/** How a backend adapter talks to its hosts (`BACKEND_MAX_CONNECTIONS`, `BACKEND_MAX_LINE_BYTES`). */
export interface BackendOptions {
  connectTimeoutMs?: number;
  /** Connections per host; requests past it wait for one to be free. */
  maxConnections?: number;
  /** The longest line (NDJSON) or event (SSE) the backend may send. */
  maxLineBytes?: number;
}

export const DEFAULT_MAX_CONNECTIONS = 1024;

/**
 * The connection pool of a model backend: keep-alive connections to each host, no undici
 * timeouts of its own (LlmService enforces the first-token, idle and whole-request ones),
 * and a bounded connect so a dead host fails over quickly. Each stream holds a connection
 * until it ends, so the pool must be larger than the streams one instance serves at once.
 */
export function backendAgent(options: BackendOptions = {}): Agent {
  return new Agent({
    keepAliveTimeout: 60_000,
    keepAliveMaxTimeout: 600_000,
    connections: options.maxConnections ?? DEFAULT_MAX_CONNECTIONS,
    connect: { timeout: options.connectTimeoutMs ?? 5_000 },
    headersTimeout: 0,
    bodyTimeout: 0,
  });
}

/** How many connections to `origin` are busy when requests to it are queued for one, else undefined. */
export function connectionsInUse(agent: Agent, origin: string): number | undefined {
  const stats = agent.stats[origin] as { queued?: number; connected?: number } | undefined;
  return stats?.queued ? stats.connected : undefined;
}
