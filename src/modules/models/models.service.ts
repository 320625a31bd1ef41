import { Injectable } from '@nestjs/common';
import { AppConfig } from '../../config/app-config';
import { CallerContext } from '../../common/auth/caller-context';
import { BackendTimeoutError, ClientClosedError } from '../../common/errors/app-errors';
import type { BackendModel } from '../../core/llm/llm-backend';
import { LlmService } from '../../core/llm/llm.service';
import { listsModel } from '../../core/llm/model-availability';

export interface ModelList {
  defaultModel: string;
  models: BackendModel[];
}

/** The backend's model list, for pickers (the web UI) and scripts: the models the calling key may use. */
@Injectable()
export class ModelsService {
  constructor(
    private readonly config: AppConfig,
    private readonly llm: LlmService,
    private readonly caller: CallerContext,
  ) {}

  /** Asks the backend; gives up after the first-token timeout, or when `client` aborts. */
  async list(client: AbortSignal): Promise<ModelList> {
    const models = await this.ask(client, 'list its models', (signal) => this.llm.listModels(signal));
    return { defaultModel: this.config.llm.model, models: this.usable(models, (model) => model.name).sort((a, b) => a.name.localeCompare(b.name)) };
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
