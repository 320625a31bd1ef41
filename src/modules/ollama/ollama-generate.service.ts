import { Injectable } from '@nestjs/common';
import { AppConfig } from '../../config/app-config';
import { type CancelSignal, withAbortSignal } from '../../common/async/cancellation';
import { ClientClosedError, PayloadTooLargeError } from '../../common/errors/app-errors';
import { CompletionService, PreparedCompletionRun } from '../chat/completion.service';
import { namingServedModel } from '../chat/served-model';
import { randomHex } from '../../common/ids/random-hex';
import { ImageResolver } from '../../core/llm/image-input';
import type { BackendCompletionRequest, BackendTimings, BackendUsage, TokenLogprob } from '../../core/llm/llm-backend';
import { LlmService } from '../../core/llm/llm.service';
import { cacheable, readGenerate } from './ollama-request';

/** A validated `/api/generate`, ready to run. */
export interface PreparedGenerate {
  model: string;
  stream: boolean;
  /** An empty prompt (and no suffix): Ollama only loads (or unloads) the model; nothing is stored. */
  load: boolean;
  sessionId: string;
  cache: boolean;
  request: BackendCompletionRequest;
}

export interface GenerateResult {
  text: string;
  /** The model that answered: the one asked for, or one of its fallbacks. */
  model: string;
  thinking: string;
  usage: BackendUsage;
  /** The backend's done reason (`stop`, `length`…); `length` when MAX_RESPONSE_CHARS cut the answer. */
  doneReason: string;
  timings?: BackendTimings;
  context?: number[];
  logprobs?: TokenLogprob[];
}

export type GenerateEvent =
  | { type: 'token'; text: string; logprobs?: TokenLogprob[] }
  | { type: 'thinking'; text: string }
  | { type: 'done'; result: GenerateResult };

/**
 * Ollama's `/api/generate`: the prompt with `system`, `template`, `raw`, `context`, `images` and
 * `suffix` as Ollama takes them, run by `CompletionService` (the breaker, retries, timeouts and
 * context guard of chat; stored as an exchange of kind `completion`, source `ollama`, whatever happens).
 */
@Injectable()
export class OllamaGenerateService {
  constructor(
    private readonly config: AppConfig,
    private readonly llm: LlmService,
    private readonly completions: CompletionService,
    private readonly images: ImageResolver,
  ) {}

  async prepare(body: unknown, signal: CancelSignal): Promise<PreparedGenerate> {
    const native = readGenerate(body);
    const limit = this.config.chat.maxPromptChars;
    if (native.prompt.length > limit) {
      throw new PayloadTooLargeError(`prompt is ${native.prompt.length} characters; the limit is ${limit} (MAX_PROMPT_CHARS)`);
    }
    this.llm.assertAvailable(native.model);
    const load = native.prompt === '' && !native.suffix;
    const images = native.images?.length
      ? await withAbortSignal(signal, (abort) => Promise.all(native.images!.map((data, at) => this.images.resolve(data, `images.${at}`, abort))))
      : undefined;
    const request: BackendCompletionRequest = {
      model: native.model,
      prompt: native.prompt,
      // As Ollama takes them: the model's Modelfile defaults apply to what the client leaves out, not GEN_*.
      options: native.options,
    };
    for (const key of ['suffix', 'system', 'template', 'raw', 'context', 'format', 'think', 'keepAlive', 'logprobs', 'topLogprobs'] as const) {
      if (native[key] !== undefined) (request as unknown as Record<string, unknown>)[key] = native[key];
    }
    if (images) request.images = images;
    return { model: native.model, stream: native.stream, load, sessionId: randomHex(12), cache: !load && cacheable(native.options), request };
  }

  /** Loads (or unloads) the model: Ollama's answer to an empty prompt. Returns its done reason. */
  async load(prepared: PreparedGenerate, signal: CancelSignal): Promise<string> {
    for await (const event of this.llm.streamCompletion(prepared.request, signal, { cache: false })) {
      if (event.type === 'done') return event.doneReason ?? 'load';
    }
    throw new ClientClosedError();
  }

  /**
   * The answer as it arrives (reasoning and text), then `done`; stored whatever happens (see
   * `CompletionService`), with source `ollama`.
   */
  async *run(prepared: PreparedGenerate, signal: CancelSignal): AsyncGenerator<GenerateEvent> {
    const run = namingServedModel<PreparedCompletionRun>({ request: prepared.request, source: 'ollama' as const, sessionId: prepared.sessionId, cache: prepared.cache }, prepared);
    for await (const event of this.completions.run(run, signal)) {
      if (event.type !== 'done') {
        yield event;
        continue;
      }
      const { text, model, thinking, usage, doneReason, logprobs, timings, context } = event.result;
      const result: GenerateResult = { text, model, thinking, usage, doneReason, ...(logprobs.length ? { logprobs } : {}) };
      if (timings) result.timings = timings;
      if (context) result.context = context;
      yield { type: 'done', result };
    }
  }
}
