import type { AppConfig } from '../../config/app-config';
import { callServer } from './server-client';

const RELOAD_TIMEOUT_MS = 3_000;

export type ServerReload =
  | { status: 'reloaded'; url: string; sha256: string | null; length: number }
  | { status: 'unreachable' | 'failed' | 'no-key'; url: string; detail: string };

/**
 * Asks the server this configuration describes to reload its system prompt now. Never throws:
 * a server that is down, or that refuses, is reported, and a running server still picks the
 * file up through its watch.
 */
export async function askServerToReload(config: AppConfig): Promise<ServerReload> {
  const answer = await callServer(config, 'POST', '/admin/system-prompt/reload', RELOAD_TIMEOUT_MS);
  if (answer.status !== 'answered') return answer;
  const { url, code, body } = answer;
  if (code < 200 || code >= 300) return { status: 'failed', url, detail: `${code} ${typeof body.message === 'string' ? body.message : ''}`.trim() };
  return { status: 'reloaded', url, sha256: typeof body.sha256 === 'string' ? body.sha256 : null, length: typeof body.length === 'number' ? body.length : 0 };
}
