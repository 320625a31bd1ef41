import { Injectable } from '@nestjs/common';
import { AppConfig } from '../../config/app-config';
import { CancelSignal, Cancellation, firstOf, withAbortSignal } from '../../common/async/cancellation';
import { ClientClosedError, PayloadTooLargeError, UnsupportedFieldError } from '../../common/errors/app-errors';
import { randomHex } from '../../common/ids/random-hex';
import { GenerationSettingsService } from '../../core/llm/generation-settings.service';
import { ImageResolver } from '../../core/llm/image-input';
import { LlmRequest, LlmService } from '../../core/llm/llm.service';
import { SystemPromptService } from '../../core/llm/system-prompt.service';
import { ChatEvent, ChatResult, ChatService, PreparedChat } from '../chat/chat.service';
import { namingServedModel } from '../chat/served-model';
import { backendMessages, lastUserText, outputFormat, thinkFor, toolChoiceOf, toolDefinitions } from './chat-request-mapping';
import { ChatCompletionRequestDto } from './dto/chat-completion-request.dto';
import { checkStrictOutput, strictValidator } from './strict-output';

/** A validated completion request, ready to run: what is checked before a response starts. */
export interface PreparedCompletion {
  /** `chatcmpl-<hex>`; the hex part is the stored exchanges' session id. */
  id: string;
  /** Unix seconds. */
  created: number;
  model: string;
  includeUsage: boolean;
  /** Whether the client asked for log probabilities (`choices[].logprobs` is then an object). */
  logprobs: boolean;
  /** How many choices (generations) to run. */
  n: number;
  chat: PreparedChat;
}

/** An event of one of the `n` generations. */
export interface ChoiceEvent {
  index: number;
  event: ChatEvent;
}

/**
 * OpenAI's Chat Completions over Vega's chat core. The client owns the conversation: its
 * messages go to the model as given, with Vega's system prompt put first only when the client
 * sent no system (or developer) message. The run itself is ChatService's — the same
 * LlmService (cache, breaker, retries, timeouts), the same storage of every exchange (source
 * `openai`, the last user message as the prompt, PII masked on write) and the same
 * cancellation when the client leaves. With `n` > 1 the generations run side by side, each
 * stored as its own exchange.
 */
@Injectable()
export class OpenAiChatService {
  constructor(
    private readonly config: AppConfig,
    private readonly llm: LlmService,
    private readonly chat: ChatService,
    private readonly generation: GenerationSettingsService,
    private readonly systemPrompt: SystemPromptService,
    private readonly images: ImageResolver,
  ) {}

  /**
   * Checks what can be checked before the model is asked — the prompt size, the combination of
   * fields, a strict schema, the breaker — then resolves the images and builds the backend
   * request. Nothing is stored for a request refused here.
   */
  async prepare(body: ChatCompletionRequestDto, signal: CancelSignal): Promise<PreparedCompletion> {
    const prompt = lastUserText(body.messages);
    const limit = this.config.chat.maxPromptChars;
    if (prompt.length > limit) {
      throw new PayloadTooLargeError(`the last user message is ${prompt.length} characters; the limit is ${limit} (MAX_PROMPT_CHARS)`);
    }
    const format = outputFormat(body.response_format);
    const toolChoice = toolChoiceOf(body);
    const forcesCall = toolChoice === 'required' || typeof toolChoice === 'object';
    if (forcesCall && format) {
      // Ollama has no tool_choice: a forced call is itself made with `format`, which cannot hold two schemas.
      throw new UnsupportedFieldError('tool_choice', 'a required or named tool call cannot be combined with response_format json_object or json_schema on Ollama');
    }
    const strict = typeof format === 'object' && format.strict ? strictValidator(format.schema) : undefined;
    this.llm.assertAvailable(body.model);
    const messages = await withAbortSignal(signal, (abort) =>
      backendMessages(body.messages, (url, field) => this.images.resolve(url, field, abort)),
    );
    const system = this.systemPrompt.get();
    if (system && !messages.some((message) => message.role === 'system')) messages.unshift({ role: 'system', content: system });
    const tools = toolDefinitions(body);
    const request: LlmRequest = {
      model: body.model,
      messages,
      options: this.generation.optionsFor(prompt, samplingOptions(body)),
      ...(tools ? { tools } : {}),
      ...(toolChoice ? { toolChoice } : {}),
      ...(body.parallel_tool_calls === false ? { parallelToolCalls: false } : {}),
      ...(format ? { format } : {}),
      ...(body.reasoning_effort ? { think: thinkFor(body.reasoning_effort) } : {}),
      ...(body.logprobs ? { logprobs: true } : {}),
      ...(body.logprobs && body.top_logprobs !== undefined ? { topLogprobs: body.top_logprobs } : {}),
    };
    const hex = randomHex(12);
    return {
      id: `chatcmpl-${hex}`,
      created: Math.floor(Date.now() / 1000),
      model: body.model,
      includeUsage: body.stream_options?.include_usage === true,
      logprobs: body.logprobs === true,
      n: body.n ?? 1,
      chat: {
        prompt,
        sessionId: hex,
        source: 'openai',
        request,
        ...(strict ? { check: (answer) => answer.toolCalls.length > 0 || checkStrictOutput(strict, answer.text) } : {}),
      },
    };
  }

  /**
   * The events of all choices as they come, each with its index; every exchange is stored
   * whatever happens. When one choice fails the others are cancelled (stored as aborted) and
   * the failure is thrown.
   */
  async *run(prepared: PreparedCompletion, signal: CancelSignal): AsyncGenerator<ChoiceEvent> {
    // Every streamed chunk names the model: the one that serves it (a fallback, possibly), once known.
    const chat = namingServedModel(prepared.chat, prepared);
    if (prepared.n === 1) {
      for await (const event of this.chat.run(chat, signal)) yield { index: 0, event };
      return;
    }
    const own = new Cancellation();
    const stop = firstOf([signal, own]);
    try {
      const runs = Array.from({ length: prepared.n }, () => this.chat.run(chat, stop.signal));
      yield* interleave(runs, () => own.abort(new ClientClosedError()));
    } finally {
      own.abort(new ClientClosedError());
      stop.release();
    }
  }

  /** Every choice's whole answer (a non-streaming request), in index order. */
  async complete(prepared: PreparedCompletion, signal: CancelSignal): Promise<ChatResult[]> {
    const results: ChatResult[] = [];
    for await (const { index, event } of this.run(prepared, signal)) {
      if (event.type === 'done') results[index] = event.result;
    }
    if (results.filter(Boolean).length < prepared.n) throw new ClientClosedError();
    return results;
  }
}

/**
 * The events of several generators as each produces them, tagged with its position. The first
 * failure ends the whole: `cancel` stops the others' upstream, and they are closed.
 */
async function* interleave(runs: AsyncGenerator<ChatEvent>[], cancel: () => void): AsyncGenerator<ChoiceEvent> {
  const next = (index: number) => runs[index].next().then((result) => ({ index, result }));
  const pending = new Map(runs.map((_run, index) => [index, next(index)]));
  try {
    while (pending.size > 0) {
      const { index, result } = await Promise.race(pending.values());
      if (result.done) {
        pending.delete(index);
        continue;
      }
      pending.set(index, next(index));
      yield { index, event: result.value };
    }
  } finally {
    // Left early (a failure, the consumer stopped): cancel the rest, let each run settle and
    // close it, so every exchange is stored before the request ends.
    if (pending.size > 0) cancel();
    await Promise.allSettled(pending.values());
    await Promise.allSettled(runs.map((run) => run.return(undefined)));
  }
}

/** OpenAI's sampling fields as Ollama options; fields the client left out keep the server settings. */
export function samplingOptions(body: ChatCompletionRequestDto): Record<string, unknown> {
  const options: Record<string, unknown> = {
    temperature: body.temperature,
    top_p: body.top_p,
    num_predict: body.max_completion_tokens ?? body.max_tokens,
    stop: typeof body.stop === 'string' ? [body.stop] : body.stop,
    seed: body.seed,
    presence_penalty: body.presence_penalty,
    frequency_penalty: body.frequency_penalty,
  };
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined && value !== null));
}
