import { BackendUnreachableError } from '../../../common/errors/app-errors';
import { HostDownError, OllamaBackend, ollamaModel, OllamaTagsEntry, ollamaUnreachable } from '../backends/ollama/ollama.backend';
import type { BackendModel, OllamaJson } from '../llm-backend';
import { allUnreachable } from './route';
import type { Target } from './target';
import type { TargetPool } from './target-pool';

/** One model as a target lists it: the neutral fields, and Ollama's own `/api/tags` entry from an Ollama target. */
export interface ListedModel {
  model: BackendModel;
  ollama?: OllamaJson;
}

/** One name of the catalogue, a model or an alias of one, with what the first target that lists it says of it. */
export interface CatalogueEntry extends BackendModel {
  /** The targets that list it (for an alias: its model's), in configuration order. */
  targets: string[];
  /** The first Ollama target's own `/api/tags` entry for it (named `name`); absent when only OpenAI-compatible targets have it. */
  ollama?: OllamaJson;
  /** For an alias: the model it stands for. */
  aliasOf?: string;
}

/**
 * The models `target` serves, as it lists them now (`/api/tags`, `/v1/models`). A target
 * configured with `models` is not asked: its list is what the file says.
 */
export async function targetModels(target: Target, signal: AbortSignal): Promise<ListedModel[]> {
  const configured = target.configuredModels;
  if (configured) return configured.map((name) => ({ model: { name } }));
  const backend = target.backend;
  if (!(backend instanceof OllamaBackend)) return (await backend.listModels(signal)).map((model) => ({ model }));
  let json: OllamaJson;
  try {
    json = await backend.hostJson('/api/tags', { method: 'GET' }, signal);
  } catch (error) {
    throw error instanceof HostDownError ? ollamaUnreachable([backend.baseUrl], error.cause) : error;
  }
  const entries = Array.isArray(json.models) ? json.models.filter(isTagsEntry) : [];
  return entries.map((entry) => ({ model: ollamaModel(entry as unknown as OllamaTagsEntry), ollama: entry }));
}

/**
 * Every target's models, asked at once, merged into the catalogue: each model once with the
 * targets that have it, then each alias whose model some target has. A target that does not
 * answer leaves its models out; when none answers, the listing fails with the first real
 * failure (or, every one unreachable, with all of them named).
 */
export async function listCatalogue(pool: TargetPool, signal: AbortSignal): Promise<CatalogueEntry[]> {
  const answers = await Promise.allSettled(pool.targets.map((target) => targetModels(target, signal)));
  if (!answers.some((answer) => answer.status === 'fulfilled')) {
    if (signal.aborted) throw signal.reason;
    throw noListing(answers.map((answer) => (answer as PromiseRejectedResult).reason as unknown));
  }
  const byName = new Map<string, CatalogueEntry>();
  answers.forEach((answer, index) => {
    if (answer.status !== 'fulfilled') return;
    for (const listed of answer.value) {
      const entry = byName.get(listed.model.name);
      if (!entry) byName.set(listed.model.name, { ...listed.model, targets: [pool.targets[index].name], ...(listed.ollama ? { ollama: listed.ollama } : {}) });
      else {
        if (!entry.targets.includes(pool.targets[index].name)) entry.targets.push(pool.targets[index].name);
        entry.ollama ??= listed.ollama;
      }
    }
  });
  const models = [...byName.values()];
  for (const alias of Object.keys(pool.aliases)) {
    if (byName.has(alias)) continue;
    const aliasOf = pool.resolve(alias);
    const model = byName.get(aliasOf) ?? byName.get(`${aliasOf}:latest`);
    if (!model) continue;
    models.push({
      ...model,
      name: alias,
      ...(model.ollama ? { ollama: { ...model.ollama, name: alias, model: alias } } : {}),
      aliasOf,
    });
  }
  return models;
}

/** Why no target could list its models: one real failure, or every target unreachable. */
function noListing(failures: unknown[]): unknown {
  const real = failures.find((failure) => !(failure instanceof BackendUnreachableError));
  if (real !== undefined || failures.length === 1) return real ?? failures[0];
  const unreachable = failures as BackendUnreachableError[];
  return allUnreachable(unreachable, unreachable[unreachable.length - 1]);
}

function isTagsEntry(value: unknown): value is OllamaJson {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && typeof (value as { name?: unknown }).name === 'string';
}
