import { ModelNotFoundError } from '../../../common/errors/app-errors';
import { HostDownError, OllamaBackend, ollamaUnreachable } from '../backends/ollama/ollama.backend';
import type { OllamaHosts, OllamaJson } from '../llm-backend';

/**
 * The listings of every Ollama target, merged: what Vega's `/api/ps` and
 * `/api/show` relay. A server that is down leaves its models out; only when none answers is
 * the listing an error (unreachable, or the first server's own error).
 */
export class OllamaCatalog implements OllamaHosts {
  constructor(private readonly servers: readonly OllamaBackend[]) {}

  private unreachable(error: unknown) {
    return ollamaUnreachable(this.servers.map((server) => server.baseUrl), error);
  }

  async running(signal: AbortSignal): Promise<OllamaJson[]> {
    const models = onceByName((await this.everyHost('/api/ps', signal)).flat());
    // Ollama lists the runner that stays loaded longest first; merged hosts keep that order.
    return models.sort((a, b) => expiry(b) - expiry(a));
  }

  async show(request: { model: string; verbose?: boolean }, signal: AbortSignal): Promise<OllamaJson> {
    const body = JSON.stringify(request.verbose === undefined ? { model: request.model } : request);
    let notFound: ModelNotFoundError | undefined;
    let lastDown: unknown;
    for (const server of this.servers) {
      try {
        return await server.hostJson('/api/show', { method: 'POST', body }, signal);
      } catch (error) {
        if (error instanceof ModelNotFoundError) notFound ??= error;
        else if (error instanceof HostDownError) lastDown = error.cause;
        else throw error;
      }
    }
    throw notFound ?? this.unreachable(lastDown);
  }

  /** The `models` list of every host, in host order; the hosts are asked at once. */
  private async everyHost(path: string, signal: AbortSignal): Promise<OllamaJson[][]> {
    const answers = await Promise.allSettled(
      this.servers.map(async (server) => {
        const { models } = await server.hostJson(path, { method: 'GET' }, signal);
        return Array.isArray(models) ? models.filter(isObject) : [];
      }),
    );
    const lists = answers.filter((answer) => answer.status === 'fulfilled').map((answer) => answer.value);
    if (lists.length > 0) return lists;
    const failures = answers.map((answer) => (answer as PromiseRejectedResult).reason as unknown);
    if (signal.aborted) throw signal.reason;
    const real = failures.find((failure) => !(failure instanceof HostDownError));
    throw real ?? this.unreachable((failures[failures.length - 1] as HostDownError).cause);
  }
}

function isObject(value: unknown): value is OllamaJson {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Each model once, by its `name` (the first host in order that lists it wins). */
function onceByName(models: OllamaJson[]): OllamaJson[] {
  const seen = new Set<string>();
  return models.filter((model) => {
    const name = typeof model.name === 'string' ? model.name : typeof model.model === 'string' ? model.model : '';
    if (seen.has(name)) return false;
    seen.add(name);
    return true;
  });
}

function expiry(model: OllamaJson): number {
  const at = typeof model.expires_at === 'string' ? Date.parse(model.expires_at) : Number.NaN;
  return Number.isFinite(at) ? at : 0;
}
