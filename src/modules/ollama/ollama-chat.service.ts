import { Injectable } from '@nestjs/common';
import { AppConfig } from '../../config/app-config';
import { type CancelSignal, withAbortSignal } from '../../common/async/cancellation';
import { ClientClosedError, PayloadTooLargeError } from '../../common/errors/app-errors';
import { randomHex } from '../../common/ids/random-hex';
import { ImageResolver } from '../../core/llm/image-input';
import type { ChatMessage, ImageInput } from '../../core/llm/llm-backend';
import { LlmRequest, LlmService } from '../../core/llm/llm.service';
import { newToolCallId } from '../../core/llm/backends/ollama/ollama-wire';
import { SystemPromptService } from '../../core/llm/system-prompt.service';
import { ChatEvent, ChatService, PreparedChat } from '../chat/chat.service';
import { namingServedModel } from '../chat/served-model';
import { cacheable, NativeMessage, readChat } from './ollama-request';

/** A validated `/api/chat`, ready to run. */
export interface PreparedNativeChat {
  /** The model as the client named it, then the one that serves it (a fallback, possibly): Ollama echoes it in every line. */
  model: string;
  stream: boolean;
  /** No messages: Ollama only loads (or with keep_alive 0 unloads) the model; nothing is stored. */
  load: boolean;
  chat: PreparedChat;
}

/**
 * Ollama's `/api/chat` over Vega's chat core. The client owns the conversation: its messages go
 * to the model as given (Vega's system prompt first only when they hold no system message), and
 * the run is ChatService's — the same LlmService (breaker, retries, timeouts, context guard), the
 * same storage of every exchange (source `ollama`, the last user message as the prompt) and the
 * same cancellation when the client leaves. The response cache is used only when the request
 * makes the answer reproducible (`options.seed`, or `temperature` 0).
 */
@Injectable()
export class OllamaChatService {
  constructor(
    private readonly config: AppConfig,
    private readonly llm: LlmService,
    private readonly chat: ChatService,
    private readonly systemPrompt: SystemPromptService,
    private readonly images: ImageResolver,
  ) {}

  async prepare(body: unknown, signal: CancelSignal): Promise<PreparedNativeChat> {
    const native = readChat(body);
    const prompt = lastUserText(native.messages);
    const limit = this.config.chat.maxPromptChars;
    if (prompt.length > limit) {
      throw new PayloadTooLargeError(`the last user message is ${prompt.length} characters; the limit is ${limit} (MAX_PROMPT_CHARS)`);
    }
    this.llm.assertAvailable(native.model);
    const messages = await withAbortSignal(signal, (abort) => Promise.all(native.messages.map((message, index) => this.message(message, index, abort))));
    const load = messages.length === 0;
    const system = this.systemPrompt.get();
    if (!load && system && !messages.some((message) => message.role === 'system')) messages.unshift({ role: 'system', content: system });
    const request: LlmRequest = {
      model: native.model,
      messages,
      // As Ollama takes them: the model's Modelfile defaults apply to what the client leaves out, not GEN_*.
      options: native.options,
      ...(native.tools ? { tools: native.tools } : {}),
      ...(native.format !== undefined ? { format: native.format } : {}),
      ...(native.think !== undefined ? { think: native.think } : {}),
      ...(native.keepAlive !== undefined ? { keepAlive: native.keepAlive } : {}),
      ...(native.logprobs ? { logprobs: true } : {}),
      ...(native.topLogprobs !== undefined ? { topLogprobs: native.topLogprobs } : {}),
    };
    return {
      model: native.model,
      stream: native.stream,
      load,
      chat: { prompt, sessionId: randomHex(12), source: 'ollama', request, cache: !load && cacheable(native.options) },
    };
  }

  run(prepared: PreparedNativeChat, signal: CancelSignal): AsyncGenerator<ChatEvent> {
    return this.chat.run(namingServedModel(prepared.chat, prepared), signal);
  }

  /** Loads (or unloads) the model: Ollama's answer to an empty chat. Returns its done reason. */
  async load(prepared: PreparedNativeChat, signal: CancelSignal): Promise<string> {
    for await (const event of this.llm.stream(prepared.chat.request, signal, { cache: false })) {
      if (event.type === 'done') return event.doneReason ?? 'load';
    }
    throw new ClientClosedError();
  }

  private async message(message: NativeMessage, index: number, signal: AbortSignal): Promise<ChatMessage> {
    const out: ChatMessage = { role: message.role, content: message.content };
    if (message.thinking) out.thinking = message.thinking;
    if (message.images) {
      out.images = await Promise.all(
        message.images.map((data, at): Promise<ImageInput> => this.images.resolve(data, `messages.${index}.images.${at}`, signal)),
      );
    }
    if (message.toolCalls) out.toolCalls = message.toolCalls.map((call) => ({ id: call.id ?? newToolCallId(), name: call.name, arguments: call.arguments }));
    if (message.toolName !== undefined) out.toolName = message.toolName;
    if (message.toolCallId !== undefined) out.toolCallId = message.toolCallId;
    return out;
  }
}

/** The text of the last user message: what history and search show as the exchange's prompt. */
function lastUserText(messages: NativeMessage[]): string {
  for (let i = messages.length - 1; i >= 0; i -= 1) if (messages[i].role === 'user') return messages[i].content;
  return '';
}
