import { Injectable } from '@nestjs/common';
import { AppConfig } from '../../config/app-config';
import type { CancelSignal } from '../../common/async/cancellation';
import { KeyRefusal } from '../../common/errors/limit-errors';
import { ClientClosedError } from '../../common/errors/app-errors';
import type { BackendCompletionRequest, BackendTimings, BackendUsage, TokenLogprob } from '../../core/llm/llm-backend';
import { LlmService } from '../../core/llm/llm.service';
import type { ConversationSource, ConversationStatus } from '../../core/persistence/conversation.entity';
import { ConversationsService } from '../../core/persistence/conversations.service';
import { modelTimeMs, storedAnswer, storedCompletionRequest } from '../../core/persistence/stored-exchange';

/** A raw completion ready to run, whichever dialect asked for it. */
export interface PreparedCompletionRun {
  request: BackendCompletionRequest;
  source: ConversationSource;
  sessionId: string;
  /** false: neither read nor fill the response cache (a sampled answer a client must not get twice). */
  cache?: boolean;
  /** Told the model and target that serve it, before its first piece (see `PreparedChat.onServed`). */
  onServed?: (model: string, target?: string) => void;
}

export interface CompletionResult {
  /** The generated text, cut at MAX_RESPONSE_CHARS. */
  text: string;
  /** The model that answered: the one asked for, or one of its fallbacks. */
  model: string;
  /** The model server (target) that answered; absent for an answer from the cache. */
  target?: string;
  /** The model's reasoning, when it thought. */
  thinking: string;
  usage: BackendUsage;
  /** The backend's own reason (`stop`, `length`…); `length` when MAX_RESPONSE_CHARS cut the answer. */
  doneReason: string;
  finishReason: 'stop' | 'length';
  logprobs: TokenLogprob[];
  timings?: BackendTimings;
  /** Ollama's `context` of a generate (the token ids to continue from). */
  context?: number[];
}

export type CompletionEvent =
  | { type: 'token'; text: string; logprobs?: TokenLogprob[] }
  | { type: 'thinking'; text: string }
  | { type: 'done'; result: CompletionResult };

/**
 * A raw completion (`/v1/completions`, Ollama's `/api/generate`) through `LlmService` — cache,
 * breaker, retries, timeouts, context guard — stored as an exchange of kind `completion`
 * whatever happens: `ok`/`cached`, `error`, or `aborted` with the partial answer. An answer
 * longer than MAX_RESPONSE_CHARS is cut there (`length`) and the generation stopped. What
 * `ChatService.run` is for chats; the dialects only shape what it yields.
 */
@Injectable()
export class CompletionService {
  constructor(
    private readonly config: AppConfig,
    private readonly llm: LlmService,
    private readonly conversations: ConversationsService,
  ) {}

  async *run(prepared: PreparedCompletionRun, signal: CancelSignal): AsyncGenerator<CompletionEvent> {
    const started = performance.now();
    const maxChars = this.config.chat.maxResponseChars;
    const answer = { text: '', thinking: '', logprobs: [] as TokenLogprob[] };
    let served: { model: string; target?: string } | undefined;
    let chunks = 0;
    let ttftMs: number | null = null;
    let stored = false;
    const finish = (status: ConversationStatus, usage: BackendUsage | null, finishReason?: string, timings?: BackendTimings) => {
      stored = true;
      return this.store(prepared, answer, { status, usage, started, ttftMs, finishReason, modelMs: modelTimeMs(timings), served });
    };
    const result = (usage: BackendUsage, doneReason: string): CompletionResult => ({
      ...answer,
      model: served?.model ?? prepared.request.model,
      ...(served?.target ? { target: served.target } : {}),
      usage,
      doneReason,
      finishReason: doneReason === 'length' ? 'length' : 'stop',
    });
    try {
      for await (const event of this.llm.streamCompletion(prepared.request, signal, {
        cache: prepared.cache,
        served: (model, target) => {
          served = { model, target };
          prepared.onServed?.(model, target);
        },
      })) {
        if (event.type === 'done') {
          const done = result(event.usage, event.doneReason ?? 'stop');
          await finish(event.cached ? 'cached' : 'ok', event.usage, done.finishReason, event.timings);
          if (event.timings) done.timings = event.timings;
          if (event.context) done.context = event.context;
          yield { type: 'done', result: done };
          return;
        }
        if (event.type === 'tool_call') continue; // a raw completion has none
        ttftMs ??= Math.round(performance.now() - started);
        if (event.type === 'thinking') {
          answer.thinking += event.text;
          yield event;
          continue;
        }
        chunks += 1;
        if (event.logprobs) answer.logprobs.push(...event.logprobs);
        const room = maxChars - answer.text.length;
        const piece = event.text.length <= room ? event.text : event.text.slice(0, Math.max(0, room));
        answer.text += piece;
        if (piece) yield { type: 'token', text: piece, ...(event.logprobs ? { logprobs: event.logprobs } : {}) };
        if (piece.length === event.text.length) continue;
        const usage = { promptTokens: 0, completionTokens: chunks };
        await finish('ok', usage, 'length');
        yield { type: 'done', result: result(usage, 'length') };
        return;
      }
    } catch (error) {
      // A refusal of the key's limits comes before the backend is asked: nothing to store.
      if (stored || error instanceof KeyRefusal) {
        stored = true;
        throw error;
      }
      const aborted = error instanceof ClientClosedError || signal.aborted;
      await finish(aborted ? 'aborted' : 'error', null).catch(() => undefined);
      throw aborted ? new ClientClosedError() : error;
    } finally {
      // A consumer that stopped iterating early (its client left) ends here: keep the partial answer.
      if (!stored) await finish('aborted', null).catch(() => undefined);
    }
  }

  private store(
    prepared: PreparedCompletionRun,
    answer: { text: string; thinking: string },
    outcome: {
      status: ConversationStatus;
      usage: BackendUsage | null;
      started: number;
      ttftMs: number | null;
      finishReason?: string;
      modelMs?: number;
      served?: { model: string; target?: string };
    },
  ): Promise<number | null> {
    const { status, usage, started, ttftMs, finishReason, modelMs, served } = outcome;
    return this.conversations.record({
      kind: 'completion',
      request: storedCompletionRequest(prepared.request),
      answer: storedAnswer({ response: answer.text, thinking: answer.thinking, ...(finishReason ? { finishReason } : {}) }),
      prompt: prepared.request.prompt,
      response: answer.text,
      source: prepared.source,
      sessionId: prepared.sessionId,
      model: prepared.request.model,
      status,
      promptTokens: usage?.promptTokens ?? null,
      completionTokens: usage?.completionTokens ?? null,
      durationMs: Math.round(performance.now() - started),
      ttftMs,
      ...(modelMs !== undefined ? { modelMs } : {}),
      servedModel: served?.model ?? null,
      target: served?.target ?? null,
    });
  }
}
