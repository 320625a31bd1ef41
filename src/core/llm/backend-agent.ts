import { Agent } from 'undici';

/**
 * The connection pool of a model backend: keep-alive connections to each host, no undici
 * timeouts of its own (LlmService enforces the first-token, idle and whole-request ones),
 * and a bounded connect so a dead host fails over quickly.
 */
export function backendAgent(connectTimeoutMs = 5_000): Agent {
  return new Agent({
    keepAliveTimeout: 60_000,
    keepAliveMaxTimeout: 600_000,
    connections: 256,
    connect: { timeout: connectTimeoutMs },
    headersTimeout: 0,
    bodyTimeout: 0,
  });
}
