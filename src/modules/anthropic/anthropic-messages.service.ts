import { Injectable } from '@nestjs/common';
import { AppConfig } from '../../config/app-config';
import { CancelSignal, withAbortSignal } from '../../common/async/cancellation';
import { ClientClosedError, InvalidInputError, PayloadTooLargeError } from '../../common/errors/app-errors';
import { randomHex } from '../../common/ids/random-hex';
import { estimatePromptTokens } from '../../core/llm/context-guard';
import { GenerationSettingsService } from '../../core/llm/generation-settings.service';
import { ImageResolver } from '../../core/llm/image-input';
import type { ImageInput } from '../../core/llm/llm-backend';
import { LlmRequest, LlmService } from '../../core/llm/llm.service';
import { SystemPromptService } from '../../core/llm/system-prompt.service';
import { ChatEvent, ChatResult, ChatService, PreparedChat } from '../chat/chat.service';
import { namingServedModel } from '../chat/served-model';
import { CountMessageTokensRequestDto, CreateMessageRequestDto } from './dto/create-message-request.dto';
import { ImageSource, MappedMessages, mapMessages, promptText, systemText, thinkOf, toolChoiceOf, toolDefinitions, withImages } from './message-mapping';

/** A validated Messages request, ready to run. */
export interface PreparedMessage {
  /** `msg_<hex>`; the hex part is the stored exchange's session id. */
  id: string;
  model: string;
  /** The prompt's size by the context guard's estimate (`message_start` usage, before Ollama counts it). */
  inputTokensEstimate: number;
  chat: PreparedChat;
}

/** Counting needs no image bytes: the estimate counts every image the same. */
const UNREAD_IMAGE: ImageInput = { mime: 'image/png', data: '', bytes: 0, sha256: '' };

/**
 * Anthropic's Messages API over Vega's chat core. The client owns the conversation: its
 * messages go to the model as given, with Vega's system prompt only when the client sent no
 * `system`. The run is ChatService's — LlmService's cache, breaker, retries, timeouts and
 * context guard, every exchange stored (source `anthropic`, PII masked on write), the
 * generation cancelled when the client leaves.
 */
@Injectable()
export class AnthropicMessagesService {
  constructor(
    private readonly config: AppConfig,
    private readonly llm: LlmService,
    private readonly chat: ChatService,
    private readonly generation: GenerationSettingsService,
    private readonly systemPrompt: SystemPromptService,
    private readonly images: ImageResolver,
  ) {}

  /** Checks what can be checked before the model is asked, resolves the images, builds the backend request; nothing is stored for a request refused here. */
  async prepare(body: CreateMessageRequestDto, signal: CancelSignal): Promise<PreparedMessage> {
    if (body.thinking?.type === 'enabled' && body.thinking.budget_tokens! >= body.max_tokens) {
      throw new InvalidInputError('thinking.budget_tokens must be less than max_tokens', { param: 'thinking.budget_tokens' });
    }
    const mapped = mapMessages(body);
    const prompt = promptText(mapped.messages);
    const limit = this.config.chat.maxPromptChars;
    if (prompt.length > limit) {
      throw new PayloadTooLargeError(`the last user message is ${prompt.length} characters; the limit is ${limit} (MAX_PROMPT_CHARS)`);
    }
    this.llm.assertAvailable(body.model);
    const request = await withAbortSignal(signal, (abort) =>
      this.request(body, mapped, (source, field) => this.images.resolve(source, field, abort), samplingOptions(body)),
    );
    const hex = randomHex(12);
    return {
      id: `msg_${hex}`,
      model: body.model,
      inputTokensEstimate: estimatePromptTokens(request),
      chat: {
        prompt,
        sessionId: hex,
        source: 'anthropic',
        request,
        ...(body.stop_sequences?.length ? { stopSequences: body.stop_sequences } : {}),
      },
    };
  }

  run(prepared: PreparedMessage, signal: CancelSignal): AsyncGenerator<ChatEvent> {
    return this.chat.run(namingServedModel(prepared.chat, prepared), signal);
  }

  /** The whole answer (a non-streaming request). */
  async complete(prepared: PreparedMessage, signal: CancelSignal): Promise<ChatResult> {
    for await (const event of this.run(prepared, signal)) {
      if (event.type === 'done') return event.result;
    }
    throw new ClientClosedError();
  }

  /**
   * `count_tokens`: the prompt the request would send (Vega's system prompt included when it
   * would be), by the context guard's estimate — Ollama has no tokenizer route. An unknown
   * model is a 404, as it would be for the request itself.
   */
  async countTokens(body: CountMessageTokensRequestDto, signal: CancelSignal): Promise<number> {
    await this.llm.modelDetails(body.model, signal);
    const request = await this.request(body, mapMessages(body), async () => UNREAD_IMAGE, {});
    return estimatePromptTokens(request);
  }

  private async request(
    body: CountMessageTokensRequestDto,
    mapped: MappedMessages,
    resolveImage: ImageSource,
    sampling: Record<string, unknown>,
  ): Promise<LlmRequest> {
    const tools = toolDefinitions(body);
    const toolChoice = toolChoiceOf(body.tool_choice, tools);
    const think = thinkOf(body.thinking);
    const messages = await withImages(mapped, resolveImage);
    const system = systemText(body.system) ?? this.systemPrompt.get();
    if (system) messages.unshift({ role: 'system', content: system });
    return {
      model: body.model,
      messages,
      options: this.generation.optionsFor(promptText(messages), sampling),
      ...(tools ? { tools } : {}),
      ...(toolChoice ? { toolChoice } : {}),
      ...(body.tool_choice?.disable_parallel_tool_use ? { parallelToolCalls: false } : {}),
      ...(think !== undefined ? { think } : {}),
    };
  }
}

/** Anthropic's sampling fields as Ollama options; stop sequences are watched by the chat, not sent. */
function samplingOptions(body: CreateMessageRequestDto): Record<string, unknown> {
  const options: Record<string, unknown> = { num_predict: body.max_tokens, temperature: body.temperature, top_p: body.top_p, top_k: body.top_k };
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined));
}
