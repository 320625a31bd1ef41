import type { ResolvedApiKey } from '../common/auth/environment-keys';
import type { BackendState } from '../core/health/backend-probe';
import { missingModelMessage } from '../core/llm/model-availability';
import type { AppLogger } from '../core/logging/app-logger';
import { redactText } from '../core/logging/redact';

export interface StartFacts {
  /** Where the server listens, e.g. `http://127.0.0.1:8000`. */
  url: string;
  apiKey: ResolvedApiKey;
  backend: { kind: string; urls: readonly string[] };
  /** `MODEL_NAME`. */
  model: string;
  /** The first probe of the backend. */
  probe: Readonly<BackendState>;
}

/**
 * What an operator needs once the server is up: where it listens, where the API key is (the key
 * itself only the one time it was generated, and only on a terminal: a log keeps no secret), the
 * web UI and docs, and whether the backend has the model. On a terminal, a short banner printed
 * last, after the log lines, so that it does not scroll away; otherwise one JSON log line.
 */
export function announceStart(logger: AppLogger, facts: StartFacts, terminal = process.stdout.isTTY === true): void {
  const backendUrls = facts.backend.urls.map(redactText).join(', ');
  const problem = backendProblem(facts);
  if (!terminal) {
    const fields = {
      url: facts.url,
      ui: `${facts.url}/`,
      docs: `${facts.url}/docs`,
      key_source: facts.apiKey.source,
      key_file: facts.apiKey.file ?? null,
      backend: facts.backend.kind,
      backend_urls: backendUrls,
      model: facts.model,
      model_status: facts.probe.missingModel ? 'missing' : facts.probe.up ? 'ok' : 'unknown',
    };
    logger.pino.info(fields, `Vega is listening on ${facts.url} (web UI at /, docs at /docs); ${keyWhere(facts.apiKey)}`);
    return;
  }
  logger.flushSync();
  const rows: [string, string][] = [];
  const key = facts.apiKey;
  if (key.source === 'generated') {
    rows.push(
      ['API key', `generated, shown this once (stored in ${key.file}, mode 0600):`],
      ['', ''],
      ['', `    ${key.key}`],
      ['', ''],
      ['', 'send it as "X-API-Key: <key>"; set API_KEY to use your own'],
    );
  } else {
    rows.push(['API key', key.source === 'file' ? `in ${key.file} (send it as "X-API-Key: <key>")` : 'from API_KEY']);
  }
  rows.push(['Web UI', `${facts.url}/`], ['API docs', `${facts.url}/docs`], ['Model', `${facts.model} on ${facts.backend.kind} at ${backendUrls}`]);
  const lines = rows.map(([label, text]) => `  ${label.padEnd(9)} ${text}`.trimEnd());
  if (problem) lines.push('', `  ! ${problem}`);
  process.stdout.write(`\nVega is listening on ${facts.url}\n\n${lines.join('\n')}\n\n`);
}

function keyWhere(key: ResolvedApiKey): string {
  if (key.source === 'env') return 'API key from API_KEY';
  if (key.source === 'file') return `API key in ${key.file}`;
  return `API key generated into ${key.file} (mode 0600); read it from that file`;
}

function backendProblem(facts: StartFacts): string | undefined {
  if (facts.probe.missingModel) return missingModelMessage(facts.probe.missingModel, facts.backend.kind, facts.probe.models);
  if (!facts.probe.up) return `the model backend is unreachable: ${redactText(facts.probe.error ?? 'no answer')}`;
  return undefined;
}
