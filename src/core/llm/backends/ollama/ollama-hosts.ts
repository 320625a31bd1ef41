import type Dispatcher from 'undici/types/dispatcher';
import { AppError, BackendError, ModelNotFoundError } from '../../../../common/errors/app-errors';
import type { OllamaHosts, OllamaJson } from '../../llm-backend';

/** A host that refused the connection (or could not be reached): the next one is tried. */
export class HostDownError extends Error {
  constructor(
    readonly base: string,
    cause: unknown,
  ) {
    super(`Ollama at ${base} is unreachable`, { cause });
  }
}

/**
 * One request to one host: its 200 response; Ollama's error status as the app error it means;
 * a connection that could not be made as `HostDownError`.
 */
export type HostRequest = (
  base: string,
  path: string,
  init: { method: 'GET' | 'POST'; body?: string },
  signal: AbortSignal,
) => Promise<Dispatcher.ResponseData>;

/**
 * The listings of every `OLLAMA_URL` host, merged: what Vega's `/api/tags`, `/api/ps` and
 * `/api/show` relay. A host that is down leaves its models out; only when no host answers is
 * the listing an error (the unreachable error of the backend, or the first host's own error).
 */
export class OllamaHostCatalog implements OllamaHosts {
  constructor(
    private readonly baseUrls: readonly string[],
    private readonly sendTo: HostRequest,
    private readonly unreachable: (lastError: unknown) => AppError,
  ) {}

  async tags(signal: AbortSignal): Promise<OllamaJson[]> {
    return onceByName((await this.everyHost('/api/tags', signal)).flat());
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
    for (const base of this.baseUrls) {
      try {
        const response = await this.sendTo(base, '/api/show', { method: 'POST', body }, signal);
        return await jsonOf(response, base, '/api/show');
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
      this.baseUrls.map(async (base) => {
        const response = await this.sendTo(base, path, { method: 'GET' }, signal);
        const { models } = await jsonOf(response, base, path);
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

/** The JSON object a host answered; anything else is the host's failure, said as such. */
async function jsonOf(response: Dispatcher.ResponseData, base: string, path: string): Promise<OllamaJson> {
  const value: unknown = await response.body.json().catch(() => undefined);
  if (!isObject(value)) throw new BackendError(`Ollama at ${base} answered ${path} with something that is not a JSON object`);
  return value;
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
