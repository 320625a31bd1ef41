import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AppConfig } from '../../config/app-config';

/** What a call to the running server came to; never an exception. */
export type ServerAnswer =
  | { status: 'answered'; url: string; code: number; body: Record<string, unknown> }
  | { status: 'unreachable' | 'no-key'; url: string; detail: string };

/**
 * Calls the server this configuration describes (HOST:PORT, a wildcard bind asked on
 * loopback), with API_KEY or the key stored in the data directory (never a new one): for what
 * only the running process knows (its system prompt, its model servers' state). Never throws:
 * a server that is down is reported as `unreachable`.
 */
export async function callServer(config: AppConfig, method: 'GET' | 'POST', path: string, timeoutMs: number): Promise<ServerAnswer> {
  const url = `${serverOrigin(config.http.host, config.http.port)}${path}`;
  const key = config.auth.apiKey ?? storedKey(config.dataDir);
  if (!key) return { status: 'no-key', url, detail: 'no API_KEY and no stored key in the data directory' };
  let response: Response;
  try {
    response = await fetch(url, { method, headers: { 'x-api-key': key }, signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    return { status: 'unreachable', url, detail: cause?.code ?? cause?.message ?? (error as Error).message };
  }
  const body = (await response.json().catch(() => ({}))) as Record<string, unknown>;
  return { status: 'answered', url, code: response.status, body };
}

function serverOrigin(host: string, port: number): string {
  const target = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `http://${target.includes(':') ? `[${target}]` : target}:${port}`;
}

function storedKey(dataDir: string): string | undefined {
  const file = join(dataDir, 'api-key');
  if (!existsSync(file)) return undefined;
  const key = readFileSync(file, 'utf8').trim();
  return key.length >= 16 ? key : undefined;
}
