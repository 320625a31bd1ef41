import { Injectable } from '@nestjs/common';
import { ModelNotFoundError } from '../../common/errors/app-errors';
import type { OllamaJson } from '../../core/llm/llm-backend';
import type { CatalogueEntry } from '../../core/llm/routing/model-catalogue';
import { LlmService } from '../../core/llm/llm.service';
import { ModelsService } from '../models/models.service';

/**
 * The Ollama API version Vega's own Ollama routes follow (docs/api.md of that release), what
 * `/api/version` says when the backend is not Ollama and has no version of its own to give.
 */
export const OLLAMA_API_VERSION = '0.33.0';

/** Go's zero `time.Time`, as Ollama writes a date it does not know. */
const ZERO_TIME = '0001-01-01T00:00:00Z';

/**
 * What Ollama's `/api/tags`, `/api/ps`, `/api/show` and `/api/version` say, for Vega's routes of
 * the same paths. Every Ollama target is asked and its own JSON relayed (each model once); the
 * models only OpenAI-compatible targets have are made from what their `/models` says, and what
 * those cannot tell is answered as Ollama answers for nothing: no running models, empty details.
 * `/api/tags` is the catalogue (aliases too; for admin keys each model names its `targets`).
 */
@Injectable()
export class OllamaModelsService {
  constructor(
    private readonly llm: LlmService,
    private readonly models: ModelsService,
  ) {}

  async tags(client: AbortSignal): Promise<{ models: OllamaJson[] }> {
    const models = await this.models.catalogue(client);
    const targets = this.models.seesTargets();
    return { models: models.map((model) => ({ ...(model.ollama ?? listed(model)), ...(targets ? { targets: model.targets } : {}) })) };
  }

  async running(client: AbortSignal): Promise<{ models: OllamaJson[] }> {
    const hosts = this.llm.ollamaHosts();
    if (!hosts) return { models: [] };
    return { models: this.models.usable(await this.models.ask(client, 'list its running models', (signal) => hosts.running(signal)), modelName) };
  }

  /** Ollama's own `/api/show` object from the host that has the model; 404 in Ollama's words when none has. */
  async show(request: { model: string; verbose?: boolean }, client: AbortSignal): Promise<OllamaJson> {
    request = { ...request, model: this.llm.resolveModel(request.model) };
    const hosts = this.llm.ollamaHosts();
    if (hosts) return this.models.ask(client, 'show the model', (signal) => hosts.show(request, signal));
    const { models } = await this.models.list(client);
    const wanted = request.model.includes(':') ? [request.model] : [request.model, `${request.model}:latest`];
    const model = wanted.map((name) => models.find((entry) => entry.name === name)).find(Boolean);
    if (!model) throw new ModelNotFoundError(`model '${request.model}' not found`);
    // The OpenAI API tells a model's id and date only: no Modelfile, template, parameters or capabilities.
    return { details: emptyDetails(), model_info: {}, modified_at: model.modifiedAt ?? ZERO_TIME };
  }

  async version(client: AbortSignal): Promise<{ version: string }> {
    if (!this.llm.ollamaHosts()) return { version: OLLAMA_API_VERSION };
    return { version: await this.models.ask(client, 'tell its version', (signal) => this.llm.backendVersion(signal)) };
  }
}

/** A model of an OpenAI-compatible backend as an `/api/tags` entry: Ollama's fields, zero where unknown. */
function listed(model: CatalogueEntry): OllamaJson {
  return { name: model.name, model: model.name, modified_at: model.modifiedAt ?? ZERO_TIME, size: model.size ?? 0, digest: '', details: emptyDetails() };
}

function emptyDetails(): OllamaJson {
  return { parent_model: '', format: '', family: '', families: null, parameter_size: '', quantization_level: '' };
}

/** A model's name in Ollama's lists (`name`, or `model` as newer servers also write). */
function modelName(model: OllamaJson): string {
  return String(model.name ?? model.model ?? '');
}
