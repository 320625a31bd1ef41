import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AppConfig } from '../../config/app-config';

const RELOAD_TIMEOUT_MS = 3_000;

export type ServerReload =
  | { status: 'reloaded'; url: string; sha256: string | null; length: number }
  | { status: 'unreachable' | 'failed' | 'no-key'; url: string; detail: string };

/**
 * Asks the server this configuration describes (HOST:PORT, a wildcard bind asked on
 * loopback) to reload its system prompt now, with API_KEY or the key stored in the data
 * directory (never a new one). Never throws: a server that is down, or that refuses, is
 * reported, and a running server still picks the file up through its watch.
 */
export async function askServerToReload(config: AppConfig): Promise<ServerReload> {
  const url = `${serverOrigin(config.http.host, config.http.port)}/admin/system-prompt/reload`;
  const key = config.auth.apiKey ?? storedKey(config.dataDir);
  if (!key) return { status: 'no-key', url, detail: 'no API_KEY and no stored key in the data directory' };
  let response: Response;
  try {
    response = await fetch(url, { method: 'POST', headers: { 'x-api-key': key }, signal: AbortSignal.timeout(RELOAD_TIMEOUT_MS) });
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    return { status: 'unreachable', url, detail: cause?.code ?? cause?.message ?? (error as Error).message };
  }
  const body = (await response.json().catch(() => ({}))) as { sha256?: string | null; length?: number; message?: string };
  if (!response.ok) return { status: 'failed', url, detail: `${response.status} ${body.message ?? response.statusText}` };
  return { status: 'reloaded', url, sha256: body.sha256 ?? null, length: body.length ?? 0 };
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
