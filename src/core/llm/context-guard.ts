import { Logger } from '@nestjs/common';
import type { AppConfig } from '../../config/app-config';
import type { CancelSignal } from '../../common/async/cancellation';
import { ClientClosedError, ContextLengthExceededError } from '../../common/errors/app-errors';
import type { BackendChatRequest, BackendCompletionRequest, ModelDetails } from './llm-backend';
import type { LlmObserver } from './llm-observer';
import type { ModelDetailsCache } from './model-details.cache';

/**
 * The prompt-size estimate, in tokens. Deliberately high: a real tokenizer makes about one token
 * of 4 bytes of English and 3.5 of code, and about one per character of CJK (3 bytes in UTF-8),
 * so one token per 3 UTF-8 bytes is at or above all of them. Each message adds 4 tokens for the
 * chat template's role markers, the answer's priming 3; an image counts 768 tokens, as Ollama
 * counts it when it truncates; tool definitions and tool calls count as their JSON.
 */
export const BYTES_PER_TOKEN = 3;
export const MESSAGE_OVERHEAD_TOKENS = 4;
export const REPLY_PRIMING_TOKENS = 3;
export const IMAGE_TOKENS = 768;
/** Room kept for the answer when the request sets no `num_predict`. */
export const MIN_ANSWER_TOKENS = 256;
/**
 * A prompt the backend read as fewer tokens than this share of the estimate was cut by it. Honest
 * text comes out at 0.65–1 of the estimate; a conversation Ollama truncated to fit a context far
 * below what it needed comes out lower.
 */
export const TRUNCATION_RATIO = 0.4;
/*
 * Ollama 0.30 and later report `prompt_eval_count` as the whole prompt, cached tokens included
 * (ollama/ollama#16428, #17943); before, it counted only the tokens evaluated anew (or was absent),
 * so a conversation whose earlier turns sat in the KV cache looked truncated. An absent count (0)
 * is never one.
 */
/** Below this estimate the chat template's own tokens blur the comparison: no truncation check. */
const MIN_CHECKED_ESTIMATE = 200;
/** How long a chat waits for the model's details before it goes on unguarded. */
const DETAILS_WAIT_MS = 3_000;
/** `num_ctx` raised by the guard is rounded up to this, so near sizes share one loaded runner. */
const NUM_CTX_STEP = 1024;

/** The guard's view of one call: what is sent, and the prompt estimate to compare with the backend's count. */
export interface ContextCheck<R> {
  request: R;
  model: string;
  estimate: number;
}

/** Tokens of a text by the estimate above. */
export function textTokens(text: string | undefined): number {
  return text ? Math.ceil(Buffer.byteLength(text, 'utf8') / BYTES_PER_TOKEN) : 0;
}

/** The estimated prompt tokens of a raw completion: the prompt and the suffix, as one message. */
export function estimateCompletionTokens(request: BackendCompletionRequest): number {
  return REPLY_PRIMING_TOKENS + MESSAGE_OVERHEAD_TOKENS + textTokens(request.prompt) + textTokens(request.suffix);
}

/** The estimated prompt tokens of a chat request: messages, images, tool calls and tool definitions. */
export function estimatePromptTokens(request: BackendChatRequest): number {
  let tokens = REPLY_PRIMING_TOKENS;
  for (const message of request.messages) {
    tokens += MESSAGE_OVERHEAD_TOKENS + textTokens(message.content) + textTokens(message.thinking);
    tokens += (message.images?.length ?? 0) * IMAGE_TOKENS;
    if (message.toolCalls?.length) tokens += textTokens(JSON.stringify(message.toolCalls));
    if (message.toolName) tokens += textTokens(message.toolName);
  }
  if (request.tools?.length) tokens += textTokens(JSON.stringify(request.tools));
  return tokens;
}

/**
 * Ollama truncates a prompt longer than its context silently: it drops the oldest messages and
 * answers as if they had never been sent. The guard learns each model's context (the request's
 * `options.num_ctx`, else the Modelfile's `num_ctx`, else the context its loaded runner has (`/api/ps`:
 * what the server gives a request that sets none), else CONTEXT_DEFAULT_NUM_CTX — never above
 * the length the model was trained for, as Ollama caps it), estimates the prompt before sending,
 * and refuses one that cannot fit with room for the answer (400 `context_length_exceeded`) — or,
 * with CONTEXT_OVERFLOW=raise_num_ctx, asks for a larger `num_ctx` up to CONTEXT_MAX_NUM_CTX.
 * After the answer it compares Ollama's prompt token count with the estimate: one far below it
 * means a prompt was cut anyway (the assumed context was wrong), counted in
 * `vega_context_truncations_total` and logged. A model the backend says nothing about is not guarded.
 */
export class ContextGuard {
  constructor(
    private readonly settings: AppConfig['context'],
    /** Absent for backends that refuse an over-long prompt themselves (OpenAI-compatible servers). */
    private readonly details: ModelDetailsCache | undefined,
    private readonly observer?: LlmObserver,
    private readonly logger: Pick<Logger, 'warn'> = new Logger(ContextGuard.name),
  ) {}

  /** The chat to send (with a raised `num_ctx` when allowed), or a `ContextLengthExceededError` naming `messages`. */
  check(request: BackendChatRequest, signal: CancelSignal): Promise<ContextCheck<BackendChatRequest> | undefined> {
    return this.fit(request, estimatePromptTokens(request), 'messages', signal);
  }

  /** The same for a raw completion (Ollama's runner cuts an over-long prompt to half the context). */
  checkCompletion(request: BackendCompletionRequest, signal: CancelSignal): Promise<ContextCheck<BackendCompletionRequest> | undefined> {
    return this.fit(request, estimateCompletionTokens(request), 'prompt', signal);
  }

  private async fit<R extends { model: string; options: Record<string, unknown> }>(
    request: R,
    estimate: number,
    param: string,
    signal: CancelSignal,
  ): Promise<ContextCheck<R> | undefined> {
    if (!this.details) return undefined;
    const { model, options } = request;
    const details = await this.detailsOf(model, signal);
    const context = details && contextOf(options, details, this.settings.defaultNumCtx);
    if (!context) return { request, model, estimate };
    const room = answerRoom(options);
    if (estimate + room <= context.numCtx) return { request, model, estimate };
    // `num_predict` caps the answer; it is not a length the answer needs. Ollama reads a prompt
    // that fits whole and ends the answer where the context ends, so what must fit is the
    // prompt and a short answer; the whole `num_predict` only when the context can be raised.
    const needed = estimate + Math.min(room, MIN_ANSWER_TOKENS);
    const raise = this.settings.overflow === 'raise_num_ctx' && context.source !== 'options.num_ctx';
    const cap = raise ? Math.min(this.settings.maxNumCtx, details!.contextLength ?? Infinity) : context.numCtx;
    const numCtx = Math.min(Math.ceil((estimate + room) / NUM_CTX_STEP) * NUM_CTX_STEP, cap);
    if (raise && numCtx > context.numCtx && needed <= numCtx) {
      return { request: { ...request, options: { ...options, num_ctx: numCtx } }, model, estimate };
    }
    if (needed <= context.numCtx) return { request, model, estimate };
    const answer = Math.min(room, MIN_ANSWER_TOKENS);
    const tooLong = `the prompt is about ${estimate} tokens (estimated) and the answer needs at least ${answer} more, but the context of ${model} is ${context.numCtx} tokens (${context.source})`;
    const shorten = `shorten the ${param === 'prompt' ? 'prompt' : 'conversation'}`;
    if (raise) {
      throw new ContextLengthExceededError(
        estimate,
        context.numCtx,
        `${capitalized(tooLong)}; a context of ${needed} tokens would be needed, more than ${cap} (${cap === this.settings.maxNumCtx ? 'CONTEXT_MAX_NUM_CTX' : "the model's trained context length"}): ${shorten}`,
        param,
      );
    }
    throw new ContextLengthExceededError(
      estimate,
      context.numCtx,
      `${capitalized(tooLong)}: ${shorten}, or give the model a larger context (options.num_ctx, PARAMETER num_ctx in its Modelfile, or CONTEXT_OVERFLOW=raise_num_ctx); Ollama would silently drop ${param === 'prompt' ? 'part of the prompt' : 'the oldest messages'}`,
      param,
    );
  }

  /** Compares the backend's count of prompt tokens with the estimate (a complete, uncached answer). */
  afterAnswer(check: ContextCheck<unknown>, promptTokens: number): void {
    if (promptTokens <= 0 || check.estimate < MIN_CHECKED_ESTIMATE || promptTokens >= check.estimate * TRUNCATION_RATIO) return;
    this.observer?.contextTruncated(check.model);
    this.logger.warn(
      `${check.model} read ${promptTokens} prompt tokens, far fewer than the ~${check.estimate} estimated: the backend probably cut the prompt to fit its context; set options.num_ctx, or CONTEXT_DEFAULT_NUM_CTX to the context Ollama really uses`,
    );
  }

  /** The model's details, or undefined when the backend cannot tell in time (the chat then reports what is wrong). */
  private async detailsOf(model: string, signal: CancelSignal): Promise<ModelDetails | undefined> {
    const known = this.details!.peek(model);
    if (known) return known;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<undefined>((resolve) => (timer = setTimeout(resolve, DETAILS_WAIT_MS, undefined)));
    try {
      return await Promise.race([this.details!.get(model, signal), timeout]);
    } catch (error) {
      if (signal.aborted) throw new ClientClosedError();
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  }
}

/** The context Ollama will give this request, and where that number comes from; undefined when unknown. */
export function contextOf(
  options: Record<string, unknown>,
  details: ModelDetails,
  defaultNumCtx: number,
): { numCtx: number; source: string } | undefined {
  const trained = details.contextLength;
  const cap = (numCtx: number) => (trained ? Math.min(numCtx, trained) : numCtx);
  const requested = options.num_ctx;
  if (typeof requested === 'number' && Number.isInteger(requested) && requested > 0) return { numCtx: cap(requested), source: 'options.num_ctx' };
  if (details.numCtx) return { numCtx: cap(details.numCtx), source: "the Modelfile's num_ctx" };
  if (details.loadedNumCtx) return { numCtx: cap(details.loadedNumCtx), source: 'the context Ollama loaded it with' };
  if (trained) return { numCtx: cap(defaultNumCtx), source: 'CONTEXT_DEFAULT_NUM_CTX' };
  return undefined;
}

/** The room the answer may take (and a key's limits reserve for it): `num_predict` when the request caps the answer, else a minimum. */
export function answerRoom(options: Record<string, unknown>): number {
  const numPredict = options.num_predict;
  return typeof numPredict === 'number' && numPredict > 0 ? numPredict : MIN_ANSWER_TOKENS;
}

function capitalized(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
