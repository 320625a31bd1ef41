import { Injectable } from '@nestjs/common';
import { AppConfig } from '../../config/app-config';
import type { CancelSignal } from '../../common/async/cancellation';
import { randomHex } from '../../common/ids/random-hex';
import { KeyRefusal } from '../../common/errors/limit-errors';
import { ClientClosedError, PayloadTooLargeError } from '../../common/errors/app-errors';
import type { ConversationSource, ConversationStatus } from '../../core/persistence/conversation.entity';
import { ConversationsService } from '../../core/persistence/conversations.service';
import { modelTimeMs, storedAnswer, storedRequest } from '../../core/persistence/stored-exchange';
import { GenerationSettingsService } from '../../core/llm/generation-settings.service';
import type { BackendTimings, ChatMessage, OutputFormat, ThinkSetting, TokenLogprob, ToolCall } from '../../core/llm/llm-backend';
import { ImageResolver } from '../../core/llm/image-input';
import { LlmRequest, LlmService } from '../../core/llm/llm.service';
import { SystemPromptService } from '../../core/llm/system-prompt.service';
import { StopSequenceWatch } from './stop-sequences';

/** An image as the client gave it (a data URL or base64) and the name of its field, for errors. */
export interface ImageSource {
  source: string;
  /** `images.0`, `--image cat.png`. */
  field: string;
}

export interface ChatInput {
  prompt: string;
  sessionId?: string;
  model?: string;
  options?: Record<string, unknown>;
  /** Images for the model to look at with this prompt; session memory replays text only. */
  images?: ImageSource[];
  /** Constrain the answer to JSON, or to JSON valid against a schema. */
  format?: OutputFormat;
  /** Let the model reason first; its reasoning comes back as `thinking`. */
  think?: ThinkSetting;
  source: ConversationSource;
}

export interface ChatUsage {
  promptTokens: number;
  completionTokens: number;
}

/**
 * Why the answer ended: the model finished (`stop`), hit a length limit (`length`: num_predict,
 * MAX_RESPONSE_CHARS), or stopped to have its tool calls run (`tool_calls`).
 */
export type FinishReason = 'stop' | 'length' | 'tool_calls';

export interface ChatResult {
  response: string;
  /** null when the database could not take the exchange in time: it waits in the spool (see `ConversationsService.record`). */
  conversationId: number | null;
  sessionId: string;
  /** The model that answered: the one asked for, or one of its fallbacks. */
  model: string;
  /** The model server (target) that answered; absent for an answer from the cache. */
  target?: string;
  cached: boolean;
  usage: ChatUsage;
  finishReason: FinishReason;
  /** The model's reasoning, when it thought aloud (`think`). */
  thinking: string;
  /** The calls the model asked for, in order. */
  toolCalls: ToolCall[];
  /** Per-token log probabilities, when the request asked for them and the backend gave them. */
  logprobs?: TokenLogprob[];
  /** Ollama's timings of the generation (absent from a cached answer and from other backends). */
  timings?: BackendTimings;
  /** Why the backend said it stopped, in its own words (Ollama's `load`, `unload`, `stop`…), when it said. */
  doneReason?: string;
  /** The stop sequence that ended the answer, when the chat watched for them (`PreparedChat.stopSequences`). */
  stopSequence?: string;
}

/** A validated request, ready to run: what is checked before a stream's headers go out. */
export interface PreparedChat {
  prompt: string;
  sessionId: string;
  source: ConversationSource;
  request: LlmRequest;
  /**
   * A last check of the finished answer (a strict JSON schema): what it throws fails the
   * exchange — stored as `error` — instead of the answer being handed on.
   */
  check?: (answer: { text: string; toolCalls: ToolCall[] }) => void;
  /** false: the response cache is neither read nor filled for this chat (see `CallPolicy`). */
  cache?: boolean;
  /** The `resp_…` id the exchange answers under (OpenAI's Responses API), stored with it. */
  responseId?: string;
  /**
   * Stop sequences the chat watches for itself instead of the backend (which would hide which
   * one was hit): the answer ends before the first one found, the generation is stopped, and
   * the result names it. Leave them out of `request.options.stop`.
   */
  stopSequences?: readonly string[];
  /**
   * Told the model (the one asked for, or a fallback) and target that serve the chat, before its
   * first piece is yielded: for a dialect that names the model in every streamed frame.
   */
  onServed?: (model: string, target?: string) => void;
}

/** The answer as it streams: text, reasoning and tool calls in the order the model gave them, then `done`. */
export type ChatEvent =
  | { type: 'token'; text: string; logprobs?: TokenLogprob[] }
  | { type: 'thinking'; text: string }
  | { type: 'tool_call'; call: ToolCall }
  | { type: 'done'; result: ChatResult };

const ELLIPSIS = '…';

@Injectable()
export class ChatService {
  constructor(
    private readonly config: AppConfig,
    private readonly llm: LlmService,
    private readonly conversations: ConversationsService,
    private readonly generation: GenerationSettingsService,
    private readonly systemPrompt: SystemPromptService,
    private readonly imageResolver: ImageResolver,
  ) {}

  /**
   * Checks the prompt size, the breaker and the key's limits, reads the images (their type from the bytes, their
   * size), and builds the message list with the session's memory.
   */
  async prepare(input: ChatInput, signal?: AbortSignal): Promise<PreparedChat> {
    const limit = this.config.chat.maxPromptChars;
    if (input.prompt.length > limit) {
      throw new PayloadTooLargeError(`prompt is ${input.prompt.length} characters; the limit is ${limit} (MAX_PROMPT_CHARS)`);
    }
    this.llm.assertAvailable(input.model);
    const images = await Promise.all((input.images ?? []).map(({ source, field }) => this.imageResolver.resolve(source, field, signal)));
    const sessionId = input.sessionId ?? randomHex(8);
    // A session id we just made up has no history: skip the read.
    const turns =
      input.sessionId && this.config.chat.memoryTurns > 0
        ? await this.conversations.recentTurns(sessionId, this.config.chat.memoryTurns)
        : [];
    const messages: ChatMessage[] = [];
    const system = this.systemPrompt.get();
    if (system) messages.push({ role: 'system', content: system });
    for (const turn of turns) {
      messages.push({ role: 'user', content: turn.prompt }, { role: 'assistant', content: turn.response });
    }
    messages.push(images.length > 0 ? { role: 'user', content: input.prompt, images } : { role: 'user', content: input.prompt });
    const model = input.model ?? this.config.llm.model;
    const request: LlmRequest = { model, messages, options: this.generation.optionsFor(input.prompt, input.options) };
    if (input.format !== undefined) request.format = input.format;
    if (input.think !== undefined) request.think = input.think;
    // The SSE stream's headers go out before the first event: a key's refusal must come first.
    await this.llm.assertAdmissible(request);
    return { prompt: input.prompt, sessionId, source: input.source, request };
  }

  /**
   * Runs a prepared chat, yielding tokens as they arrive and a final `done`. The exchange is
   * stored whatever happens: `ok`/`cached`, `error` or `aborted` with the partial answer.
   */
  async *run(chat: PreparedChat, signal: CancelSignal): AsyncGenerator<ChatEvent> {
    const started = performance.now();
    const maxChars = this.config.chat.maxResponseChars;
    const answer = new AnswerSoFar();
    let chunks = 0;
    let ttftMs: number | null = null;
    let stored = false;
    const watch = chat.stopSequences?.length ? new StopSequenceWatch(chat.stopSequences) : undefined;
    const finish = (status: ConversationStatus, usage: ChatUsage | null, finishReason?: FinishReason, timings?: BackendTimings, stopSequence?: string) => {
      stored = true;
      return this.store(chat, answer, { status, usage, finishReason, modelMs: modelTimeMs(timings), stopSequence }, started, ttftMs);
    };
    const served = (model: string, target?: string) => {
      answer.served = { model, target };
      chat.onServed?.(model, target);
    };
    try {
      for await (const event of this.llm.stream(chat.request, signal, { cache: chat.cache, served })) {
        if (event.type === 'done') {
          const held = watch?.flush();
          if (held) {
            answer.text += held;
            yield { type: 'token', text: held };
          }
          chat.check?.(answer);
          const finishReason = answer.finishReason(event.doneReason);
          const result = await finish(event.cached ? 'cached' : 'ok', event.usage, finishReason, event.timings);
          yield { type: 'done', result: { ...result, cached: event.cached, finishReason, timings: event.timings, doneReason: event.doneReason } };
          return;
        }
        ttftMs ??= Math.round(performance.now() - started);
        if (event.type === 'tool_call') {
          answer.toolCalls.push(event.call);
          yield event;
          continue;
        }
        if (event.type === 'thinking') {
          answer.thinking += event.text;
          yield event;
          continue;
        }
        chunks += 1;
        if (event.logprobs) (answer.logprobs ??= []).push(...event.logprobs);
        const seen = watch?.push(event.text);
        const token = seen ? { type: 'token' as const, text: seen.text } : event;
        const room = maxChars - answer.text.length;
        if (token.text.length <= room) {
          answer.text += token.text;
          // Text held back by the watch leaves nothing to send now; an unwatched token goes on as it came.
          if (token.text || !seen) yield token;
          if (!seen?.hit) continue;
          // A stop sequence: the answer ends before it, and the generation is stopped upstream.
          chat.check?.(answer);
          const result = await finish('ok', { promptTokens: 0, completionTokens: chunks }, 'stop', undefined, seen.hit);
          yield { type: 'done', result: { ...result, cached: false, finishReason: 'stop', stopSequence: seen.hit } };
          return;
        }
        // Over the limit: send what fits plus "…", and stop the generation upstream.
        const tail = cutAt(token.text, room) + ELLIPSIS;
        answer.text += tail;
        yield { type: 'token', text: tail };
        chat.check?.(answer);
        const result = await finish('ok', { promptTokens: 0, completionTokens: chunks }, 'length');
        yield { type: 'done', result: { ...result, cached: false, finishReason: 'length' } };
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
      // A consumer that stops iterating early (its client left while a token was being
      // written) ends up here without passing through the catch: keep the partial answer.
      if (!stored) await finish('aborted', null).catch(() => undefined);
    }
  }

  /** Runs the whole chat and returns the complete answer (the non-streaming `POST /chat`). */
  async complete(input: ChatInput, signal: CancelSignal): Promise<ChatResult> {
    const chat = await this.prepare(input);
    for await (const event of this.run(chat, signal)) {
      if (event.type === 'done') return event.result;
    }
    throw new ClientClosedError();
  }

  /** Stores the exchange, whole request and answer included; an aborted or failed one keeps its partial answer (no finish reason). */
  private async store(
    chat: PreparedChat,
    answer: AnswerSoFar,
    outcome: { status: ConversationStatus; usage: ChatUsage | null; finishReason?: FinishReason; modelMs?: number; stopSequence?: string },
    started: number,
    ttftMs: number | null,
  ): Promise<Omit<ChatResult, 'cached' | 'finishReason'>> {
    const { status, usage, finishReason, modelMs, stopSequence } = outcome;
    const response = answer.text;
    const conversationId = await this.conversations.record({
      prompt: chat.prompt,
      response,
      source: chat.source,
      sessionId: chat.sessionId,
      model: chat.request.model,
      status,
      promptTokens: usage?.promptTokens ?? null,
      completionTokens: usage?.completionTokens ?? null,
      durationMs: Math.round(performance.now() - started),
      ttftMs,
      ...(modelMs !== undefined ? { modelMs } : {}),
      servedModel: answer.served?.model ?? null,
      target: answer.served?.target ?? null,
      kind: 'chat',
      request: storedRequest(chat.request, chat.stopSequences),
      answer: storedAnswer({ response, thinking: answer.thinking, toolCalls: answer.toolCalls, finishReason, stopSequence }),
      ...(chat.responseId ? { responseId: chat.responseId } : {}),
    });
    return {
      response,
      conversationId,
      sessionId: chat.sessionId,
      model: answer.served?.model ?? chat.request.model,
      ...(answer.served?.target ? { target: answer.served.target } : {}),
      usage: usage ?? { promptTokens: 0, completionTokens: 0 },
      thinking: answer.thinking,
      toolCalls: answer.toolCalls,
      ...(answer.logprobs ? { logprobs: answer.logprobs } : {}),
    };
  }
}

/** The answer collected from the stream so far: what is stored, whatever ends it. */
class AnswerSoFar {
  text = '';
  thinking = '';
  readonly toolCalls: ToolCall[] = [];
  logprobs?: TokenLogprob[];
  /** The model and target that serve it, once known. */
  served?: { model: string; target?: string };

  /** A generation that produced tool calls ended to have them run, whatever the backend calls it. */
  finishReason(doneReason: string | undefined): FinishReason {
    if (doneReason === 'length') return 'length';
    return this.toolCalls.length > 0 ? 'tool_calls' : 'stop';
  }
}

/** `text.slice(0, n)` that never splits a surrogate pair. */
function cutAt(text: string, n: number): string {
  if (n <= 0) return '';
  const code = text.charCodeAt(n - 1);
  return code >= 0xd800 && code <= 0xdbff ? text.slice(0, n - 1) : text.slice(0, n);
}

