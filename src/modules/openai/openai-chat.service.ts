import { Injectable } from '@nestjs/common';
import { AppConfig } from '../../config/app-config';
import type { CancelSignal } from '../../common/async/cancellation';
import { ClientClosedError, PayloadTooLargeError } from '../../common/errors/app-errors';
import { randomHex } from '../../common/ids/random-hex';
import { GenerationSettingsService } from '../../core/llm/generation-settings.service';
import type { ChatMessage } from '../../core/llm/llm-backend';
import { LlmService } from '../../core/llm/llm.service';
import { SystemPromptService } from '../../core/llm/system-prompt.service';
import { ChatEvent, ChatResult, ChatService, PreparedChat } from '../chat/chat.service';
import { ChatCompletionRequestDto, contentText } from './dto/chat-completion-request.dto';

/** A validated completion request, ready to run: what is checked before a response starts. */
export interface PreparedCompletion {
  /** `chatcmpl-<hex>`; the hex part is the stored exchange's session id. */
  id: string;
  /** Unix seconds. */
  created: number;
  model: string;
  includeUsage: boolean;
  chat: PreparedChat;
}

/**
 * OpenAI's Chat Completions over Vega's chat core. The client owns the conversation: its
 * messages go to the model as given, with Vega's system prompt put first only when the client
 * sent no system (or developer) message. The run itself is ChatService's — the same
 * LlmService (cache, breaker, retries, timeouts), the same storage of every exchange (source
 * `openai`, the last user message as the prompt, PII masked on write) and the same
 * cancellation when the client leaves.
 */
@Injectable()
export class OpenAiChatService {
  constructor(
    private readonly config: AppConfig,
    private readonly llm: LlmService,
    private readonly chat: ChatService,
    private readonly generation: GenerationSettingsService,
    private readonly systemPrompt: SystemPromptService,
  ) {}

  /** Checks the prompt size and the breaker, and builds the backend request. */
  prepare(body: ChatCompletionRequestDto): PreparedCompletion {
    const messages: ChatMessage[] = body.messages.map((message) => ({
      role: message.role === 'developer' ? 'system' : message.role,
      content: contentText(message.content),
    }));
    // The DTO guarantees a user message.
    const prompt = messages.findLast((message) => message.role === 'user')!.content;
    const limit = this.config.chat.maxPromptChars;
    if (prompt.length > limit) {
      throw new PayloadTooLargeError(`the last user message is ${prompt.length} characters; the limit is ${limit} (MAX_PROMPT_CHARS)`);
    }
    this.llm.assertAvailable(body.model);
    const system = this.systemPrompt.get();
    if (system && !messages.some((message) => message.role === 'system')) messages.unshift({ role: 'system', content: system });
    const hex = randomHex(12);
    return {
      id: `chatcmpl-${hex}`,
      created: Math.floor(Date.now() / 1000),
      model: body.model,
      includeUsage: body.stream_options?.include_usage === true,
      chat: {
        prompt,
        sessionId: hex,
        source: 'openai',
        request: { model: body.model, messages, options: this.generation.optionsFor(prompt, samplingOptions(body)) },
      },
    };
  }

  /** Tokens as they arrive, then `done`; the exchange is stored whatever happens. */
  run(prepared: PreparedCompletion, signal: CancelSignal): AsyncGenerator<ChatEvent> {
    return this.chat.run(prepared.chat, signal);
  }

  /** The whole answer (a non-streaming request). */
  async complete(prepared: PreparedCompletion, signal: CancelSignal): Promise<ChatResult> {
    for await (const event of this.run(prepared, signal)) {
      if (event.type === 'done') return event.result;
    }
    throw new ClientClosedError();
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
