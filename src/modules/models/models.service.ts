import { Injectable } from '@nestjs/common';
import { AppConfig } from '../../config/app-config';
import { CallerContext } from '../../common/auth/caller-context';
import { seesTargets } from '../../common/auth/principal';
import { BackendTimeoutError, ClientClosedError } from '../../common/errors/app-errors';
import type { CatalogueEntry } from '../../core/llm/routing/model-catalogue';
import { LlmService } from '../../core/llm/llm.service';
import { listsModel } from '../../core/llm/model-availability';

export interface ModelList {
  defaultModel: string;
  /** Each with the targets that have it: only `seesTargets()` callers may be shown them. */
  models: CatalogueEntry[];
}

/**
 * The catalogue of every model server behind Vega (each model once, aliases too), for pickers
 * (the web UI) and scripts: the models the calling key may use.
 */
@Injectable()
export class ModelsService {
  constructor(
    private readonly config: AppConfig,
    private readonly llm: LlmService,
    private readonly caller: CallerContext,
  ) {}

  /** Asks the backend; gives up after the first-token timeout, or when `client` aborts. */
  async list(client: AbortSignal): Promise<ModelList> {
    const models = await this.catalogue(client);
    return { defaultModel: this.config.llm.model, models: models.sort((a, b) => a.name.localeCompare(b.name)) };
  }

  /** The catalogue in the servers' own order (configuration order, then each server's), aliases last. */
  async catalogue(client: AbortSignal): Promise<CatalogueEntry[]> {
    const models = await this.ask(client, 'list its models', (signal) => this.llm.listModels(signal));
    return this.usable(models, (model) => model.aliasOf ?? model.name);
  }

  /**
   * Whether listings name the model servers that have each model: with several servers, for
   * admin keys and the CLI (other keys never learn the servers' names).
   */
  seesTargets(): boolean {
    return this.llm.targetCount > 1 && seesTargets(this.caller.current());
  }

  /** Of `models`, those the calling key's allow-list holds (all of them for a key without one, and in the CLI). */
  usable<T>(models: readonly T[], nameOf: (model: T) => string): T[] {
    const allowed = this.caller.current()?.models;
    return allowed ? models.filter((model) => listsModel(allowed, nameOf(model))) : [...models];
  }

  /**
   * `question` put to the backend with a deadline: the first-token timeout (a `BackendTimeoutError`
   * saying the backend did not `what` in time), or `ClientClosedError` when `client` aborts.
   */
  async ask<T>(client: AbortSignal, what: string, question: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const ms = this.config.llm.firstTokenTimeoutMs;
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(new BackendTimeoutError('total', `The model backend did not ${what} within ${ms / 1000} s`)), ms);
    const onClient = () => deadline.abort(new ClientClosedError());
    if (client.aborted) onClient();
    else client.addEventListener('abort', onClient, { once: true });
    try {
      return await question(deadline.signal);
    } finally {
      clearTimeout(timer);
      client.removeEventListener('abort', onClient);
    }
  }
}
