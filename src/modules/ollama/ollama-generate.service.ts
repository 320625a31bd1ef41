import { Injectable } from '@nestjs/common';
import { AppConfig } from '../../config/app-config';
import type { CancelSignal } from '../../common/async/cancellation';
import { ClientClosedError, PayloadTooLargeError } from '../../common/errors/app-errors';
import { randomHex } from '../../common/ids/random-hex';
import { ImageResolver } from '../../core/llm/image-input';
import type { BackendCompletionRequest, BackendTimings, BackendUsage, TokenLogprob } from '../../core/llm/llm-backend';
import { LlmService } from '../../core/llm/llm.service';
import type { ConversationStatus } from '../../core/persistence/conversation.entity';
import { ConversationsService } from '../../core/persistence/conversations.service';
import { storedAnswer, storedCompletionRequest } from '../../core/persistence/stored-exchange';
import { withAbortSignal } from './ollama-chat.service';
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
 * Ollama's `/api/generate` over `LlmService.streamCompletion`: the prompt with `system`,
 * `template`, `raw`, `context`, `images` and `suffix` as Ollama takes them, through the same
 * breaker, retries, timeouts and context guard as chat; each run is stored as an exchange of
 * kind `completion` (source `ollama`) whatever happens — `ok`/`cached`, `error`, or `aborted`
 * with the partial answer.
 */
@Injectable()
export class OllamaGenerateService {
  constructor(
    private readonly config: AppConfig,
    private readonly llm: LlmService,
    private readonly conversations: ConversationsService,
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
   * The answer as it arrives (reasoning and text), then `done`; stored whatever happens. An
   * answer longer than MAX_RESPONSE_CHARS is cut there (`length`) and the generation stopped.
   */
  async *run(prepared: PreparedGenerate, signal: CancelSignal): AsyncGenerator<GenerateEvent> {
    const started = performance.now();
    const maxChars = this.config.chat.maxResponseChars;
    let text = '';
    let thinking = '';
    let chunks = 0;
    let ttftMs: number | null = null;
    let stored = false;
    const logprobs: TokenLogprob[] = [];
    const finish = (status: ConversationStatus, usage: BackendUsage | null, finishReason?: string) => {
      stored = true;
      return this.store(prepared, { text, thinking, status, usage, started, ttftMs, finishReason });
    };
    try {
      for await (const event of this.llm.streamCompletion(prepared.request, signal, { cache: prepared.cache })) {
        if (event.type === 'done') {
          const doneReason = event.doneReason ?? 'stop';
          await finish(event.cached ? 'cached' : 'ok', event.usage, doneReason === 'length' ? 'length' : 'stop');
          const result: GenerateResult = { text, thinking, usage: event.usage, doneReason, ...(logprobs.length ? { logprobs } : {}) };
          if (event.timings) result.timings = event.timings;
          if (event.context) result.context = event.context;
          yield { type: 'done', result };
          return;
        }
        if (event.type === 'tool_call') continue; // a raw completion has none
        ttftMs ??= Math.round(performance.now() - started);
        if (event.type === 'thinking') {
          thinking += event.text;
          yield event;
          continue;
        }
        chunks += 1;
        if (event.logprobs) logprobs.push(...event.logprobs);
        const room = maxChars - text.length;
        const piece = event.text.length <= room ? event.text : event.text.slice(0, Math.max(0, room));
        text += piece;
        if (piece) yield { type: 'token', text: piece, ...(event.logprobs ? { logprobs: event.logprobs } : {}) };
        if (piece.length === event.text.length) continue;
        const usage = { promptTokens: 0, completionTokens: chunks };
        await finish('ok', usage, 'length');
        yield { type: 'done', result: { text, thinking, usage, doneReason: 'length', ...(logprobs.length ? { logprobs } : {}) } };
        return;
      }
    } catch (error) {
      if (stored) throw error;
      const aborted = error instanceof ClientClosedError || signal.aborted;
      await finish(aborted ? 'aborted' : 'error', null).catch(() => undefined);
      throw aborted ? new ClientClosedError() : error;
    } finally {
      if (!stored) await finish('aborted', null).catch(() => undefined);
    }
  }

  private store(
    prepared: PreparedGenerate,
    outcome: {
      text: string;
      thinking: string;
      status: ConversationStatus;
      usage: BackendUsage | null;
      started: number;
      ttftMs: number | null;
      finishReason?: string;
    },
  ): Promise<number | null> {
    const { text, thinking, status, usage, started, ttftMs, finishReason } = outcome;
    return this.conversations.record({
      kind: 'completion',
      request: storedCompletionRequest(prepared.request),
      answer: storedAnswer({ response: text, thinking, ...(finishReason ? { finishReason } : {}) }),
      prompt: prepared.request.prompt,
      response: text,
      source: 'ollama',
      sessionId: prepared.sessionId,
      model: prepared.model,
      status,
      promptTokens: usage?.promptTokens ?? null,
      completionTokens: usage?.completionTokens ?? null,
      durationMs: Math.round(performance.now() - started),
      ttftMs,
    });
  }
}
