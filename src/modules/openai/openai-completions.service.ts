import { Injectable } from '@nestjs/common';
import { AppConfig } from '../../config/app-config';
import type { CancelSignal } from '../../common/async/cancellation';
import { ClientClosedError, PayloadTooLargeError, UnsupportedFieldError } from '../../common/errors/app-errors';
import { randomHex } from '../../common/ids/random-hex';
import { GenerationSettingsService } from '../../core/llm/generation-settings.service';
import type { BackendCompletionRequest, BackendUsage, TokenLogprob } from '../../core/llm/llm-backend';
import { LlmService } from '../../core/llm/llm.service';
import type { ConversationStatus } from '../../core/persistence/conversation.entity';
import { ConversationsService } from '../../core/persistence/conversations.service';
import { storedAnswer, storedCompletionRequest } from '../../core/persistence/stored-exchange';
import { CreateCompletionRequestDto } from './dto/text-completion-request.dto';

/** A validated legacy completion, ready to run: what is checked before a response starts. */
export interface PreparedTextCompletion {
  /** `cmpl-<hex>`; the hex part is the stored exchange's session id. */
  id: string;
  /** Unix seconds. */
  created: number;
  model: string;
  includeUsage: boolean;
  /** The prompt when `echo` asked for it to come first in `text`, else ''. */
  echo: string;
  /** Whether the answer carries log probabilities. */
  logprobs: boolean;
  request: BackendCompletionRequest;
}

export interface TextCompletionResult {
  /** The generated text (without the echoed prompt). */
  text: string;
  usage: BackendUsage;
  finishReason: 'stop' | 'length';
  logprobs: TokenLogprob[];
}

export type TextCompletionEvent = { type: 'text'; text: string; logprobs?: TokenLogprob[] } | { type: 'done'; result: TextCompletionResult };

/**
 * OpenAI's legacy completions over `LlmService.streamCompletion` (Ollama `/api/generate`: the
 * prompt without a chat template), with the same cache, breaker, retries, timeouts and storage
 * as chat: each run is stored as an exchange (source `openai`, the prompt and the generated text).
 */
@Injectable()
export class OpenAiCompletionsService {
  constructor(
    private readonly config: AppConfig,
    private readonly llm: LlmService,
    private readonly conversations: ConversationsService,
    private readonly generation: GenerationSettingsService,
  ) {}

  prepare(body: CreateCompletionRequestDto): PreparedTextCompletion {
    // The DTO guarantees one non-empty text.
    const prompt = typeof body.prompt === 'string' ? body.prompt : body.prompt[0]!;
    const limit = this.config.chat.maxPromptChars;
    if (prompt.length > limit) {
      throw new PayloadTooLargeError(`prompt is ${prompt.length} characters; the limit is ${limit} (MAX_PROMPT_CHARS)`);
    }
    const logprobs = body.logprobs !== undefined;
    if (body.echo && logprobs) {
      throw new UnsupportedFieldError('echo', "cannot be combined with logprobs: the backend gives no log probabilities for the prompt's tokens");
    }
    this.llm.assertAvailable(body.model);
    const hex = randomHex(12);
    return {
      id: `cmpl-${hex}`,
      created: Math.floor(Date.now() / 1000),
      model: body.model,
      includeUsage: body.stream_options?.include_usage === true,
      echo: body.echo ? prompt : '',
      logprobs,
      request: {
        model: body.model,
        prompt,
        ...(body.suffix !== undefined ? { suffix: body.suffix } : {}),
        options: this.generation.optionsFor(prompt, samplingOptions(body)),
        ...(logprobs ? { logprobs: true, topLogprobs: body.logprobs } : {}),
      },
    };
  }

  /**
   * The generated text as it arrives, then `done`; the exchange is stored whatever happens. An
   * answer longer than MAX_RESPONSE_CHARS is cut there (finish `length`) and the generation stopped.
   */
  async *run(prepared: PreparedTextCompletion, signal: CancelSignal): AsyncGenerator<TextCompletionEvent> {
    const started = performance.now();
    const maxChars = this.config.chat.maxResponseChars;
    const logprobs: TokenLogprob[] = [];
    let text = '';
    let chunks = 0;
    let ttftMs: number | null = null;
    let stored = false;
    const finish = (status: ConversationStatus, usage: BackendUsage | null, finishReason?: string) => {
      stored = true;
      return this.store(prepared, text, status, usage, started, ttftMs, finishReason);
    };
    try {
      for await (const event of this.llm.streamCompletion(prepared.request, signal)) {
        if (event.type === 'done') {
          const finishReason = event.doneReason === 'length' ? 'length' : 'stop';
          await finish(event.cached ? 'cached' : 'ok', event.usage, finishReason);
          yield { type: 'done', result: { text, usage: event.usage, finishReason, logprobs } };
          return;
        }
        // A raw completion has no tool calls; a thinking model's reasoning is not part of the text.
        if (event.type !== 'token') continue;
        ttftMs ??= Math.round(performance.now() - started);
        chunks += 1;
        if (event.logprobs) logprobs.push(...event.logprobs);
        const room = maxChars - text.length;
        const piece = event.text.length <= room ? event.text : event.text.slice(0, Math.max(0, room));
        text += piece;
        if (piece) yield { type: 'text', text: piece, ...(event.logprobs ? { logprobs: event.logprobs } : {}) };
        if (piece.length === event.text.length) continue;
        const usage = { promptTokens: 0, completionTokens: chunks };
        await finish('ok', usage, 'length');
        yield { type: 'done', result: { text, usage, finishReason: 'length', logprobs } };
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

  /** The whole answer (a non-streaming request). */
  async complete(prepared: PreparedTextCompletion, signal: CancelSignal): Promise<TextCompletionResult> {
    for await (const event of this.run(prepared, signal)) {
      if (event.type === 'done') return event.result;
    }
    throw new ClientClosedError();
  }

  private store(
    prepared: PreparedTextCompletion,
    text: string,
    status: ConversationStatus,
    usage: BackendUsage | null,
    started: number,
    ttftMs: number | null,
    finishReason?: string,
  ): Promise<number | null> {
    return this.conversations.record({
      kind: 'completion',
      request: storedCompletionRequest(prepared.request),
      answer: storedAnswer({ response: text, ...(finishReason ? { finishReason } : {}) }),
      prompt: prepared.request.prompt,
      response: text,
      source: 'openai',
      sessionId: prepared.id.slice('cmpl-'.length),
      model: prepared.model,
      status,
      promptTokens: usage?.promptTokens ?? null,
      completionTokens: usage?.completionTokens ?? null,
      durationMs: Math.round(performance.now() - started),
      ttftMs,
    });
  }
}

/** OpenAI's sampling fields as Ollama options; fields the client left out keep the server settings. */
function samplingOptions(body: CreateCompletionRequestDto): Record<string, unknown> {
  const options: Record<string, unknown> = {
    temperature: body.temperature,
    top_p: body.top_p,
    num_predict: body.max_tokens,
    stop: typeof body.stop === 'string' ? [body.stop] : body.stop,
    seed: body.seed,
    presence_penalty: body.presence_penalty,
    frequency_penalty: body.frequency_penalty,
  };
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined));
}
