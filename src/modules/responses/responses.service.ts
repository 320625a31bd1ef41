import { Injectable } from '@nestjs/common';
import { AppConfig } from '../../config/app-config';
import { CancelSignal, withAbortSignal } from '../../common/async/cancellation';
import { ClientClosedError, ContextLengthExceededError, NotFoundError, PayloadTooLargeError, UnsupportedFieldError } from '../../common/errors/app-errors';
import { randomHex } from '../../common/ids/random-hex';
import { CallerContext } from '../../common/auth/caller-context';
import { historyOwner } from '../../common/auth/principal';
import { GenerationSettingsService } from '../../core/llm/generation-settings.service';
import { ImageResolver } from '../../core/llm/image-input';
import type { ChatMessage, OutputFormat, ToolChoice, ToolDefinition } from '../../core/llm/llm-backend';
import { LlmRequest, LlmService } from '../../core/llm/llm.service';
import { SystemPromptService } from '../../core/llm/system-prompt.service';
import { ConversationExchange, ConversationHistoryRepository } from '../../core/persistence/conversation-history.repository';
import { ChatEvent, ChatResult, ChatService, PreparedChat } from '../chat/chat.service';
import { namingServedModel } from '../chat/served-model';
import { thinkFor } from '../openai/chat-request-mapping';
import { checkStrictOutput, strictValidator } from '../openai/strict-output';
import { CreateResponseRequestDto, ResponseTextFormatDto } from './dto/create-response-request.dto';
import { outputOf, ResponseOutcome, responseObject, ResponseSettings, ResponseStatus, usageOf } from './response-object';
import { continuedConversation, inputMessages } from './responses-input';

/** A validated response request, ready to run: what is checked before a stream's headers go out. */
export interface PreparedResponse {
  settings: ResponseSettings;
  chat: PreparedChat;
}

const FORMAT_FIELD = 'text.format';

/**
 * OpenAI's Responses API over Vega's chat core: the input items (and, with
 * `previous_response_id`, the stored conversation they continue) become one chat, run by
 * ChatService like every other lane — the same LlmService (cache, breaker, retries, timeouts,
 * context guard), the same storage of every exchange (source `responses`, with its `resp_…` id,
 * PII masked on write) and the same cancellation when the client leaves. A stored response is
 * read back from that exchange, so there is no second store to keep in step with the history.
 */
@Injectable()
export class ResponsesService {
  constructor(
    private readonly config: AppConfig,
    private readonly llm: LlmService,
    private readonly chat: ChatService,
    private readonly generation: GenerationSettingsService,
    private readonly systemPrompt: SystemPromptService,
    private readonly images: ImageResolver,
    private readonly history: ConversationHistoryRepository,
    private readonly caller: CallerContext,
  ) {}

  /**
   * Checks the request (the continued response, the input items, the format against the tool
   * choice, a strict schema, the prompt size, the breaker), then resolves the images and builds
   * the backend request. Nothing is stored for a request refused here.
   */
  async prepare(body: CreateResponseRequestDto, signal: CancelSignal): Promise<PreparedResponse> {
    const previous = body.previous_response_id ? await this.stored(body.previous_response_id, 'previous_response_id') : undefined;
    const history = previous ? continuedConversation(previous, body.previous_response_id!) : [];
    const { messages: added, images } = inputMessages(body.input, history);
    // The conversation's latest question: a turn that only hands back a tool's output keeps the one it answers.
    const prompt = [...history, ...added].findLast((message) => message.role === 'user')?.content ?? '';
    const limit = this.config.chat.maxPromptChars;
    if (prompt.length > limit) {
      throw new PayloadTooLargeError(`the last user message is ${prompt.length} characters; the limit is ${limit} (MAX_PROMPT_CHARS)`, { param: 'input' });
    }
    const format = outputFormat(body.text?.format);
    const toolChoice = toolChoiceOf(body);
    if ((toolChoice === 'required' || typeof toolChoice === 'object') && format) {
      // Ollama has no tool_choice: a forced call is itself made with `format`, which cannot hold two schemas.
      throw new UnsupportedFieldError('tool_choice', 'a required or named tool call cannot be combined with text.format json_object or json_schema on Ollama');
    }
    const strict = typeof format === 'object' && format.strict ? strictValidator(format.schema, FORMAT_FIELD) : undefined;
    this.llm.assertAvailable(body.model);
    const resolved = await withAbortSignal(signal, (abort) => Promise.all(images.map(({ url, field }) => this.images.resolve(url, field, abort))));
    images.forEach(({ message }, index) => (added[message].images ??= []).push(resolved[index]));
    const messages: ChatMessage[] = [...history, ...added];
    const system = body.instructions ?? this.systemPrompt.get();
    if (body.instructions !== undefined || (system && !messages.some((message) => message.role === 'system'))) {
      messages.unshift({ role: 'system', content: system! });
    }
    const tools = toolDefinitions(body);
    const think = body.reasoning?.effort ? thinkFor(body.reasoning.effort) : undefined;
    const request: LlmRequest = {
      model: body.model,
      messages,
      options: this.generation.optionsFor(prompt, samplingOptions(body)),
      ...(tools.length > 0 ? { tools } : {}),
      ...(toolChoice ? { toolChoice } : {}),
      ...(body.parallel_tool_calls === false ? { parallelToolCalls: false } : {}),
      ...(format ? { format } : {}),
      ...(think !== undefined ? { think } : {}),
    };
    const hex = randomHex(12);
    const id = `resp_${hex}`;
    return {
      settings: {
        id,
        createdAt: Math.floor(Date.now() / 1000),
        model: body.model,
        instructions: body.instructions ?? null,
        previousResponseId: body.previous_response_id ?? null,
        tools,
        toolChoice,
        parallelToolCalls: body.parallel_tool_calls !== false,
        format,
        think,
        options: request.options,
      },
      chat: {
        prompt,
        // A continued conversation stays one session in the history.
        sessionId: previous?.sessionId ?? hex,
        source: 'responses',
        request,
        responseId: id,
        ...(strict ? { check: (answer) => answer.toolCalls.length > 0 || checkStrictOutput(strict, answer.text, FORMAT_FIELD) } : {}),
      },
    };
  }

  /** The answer's events; the exchange is stored whatever happens. */
  async *run(prepared: PreparedResponse, signal: CancelSignal): AsyncGenerator<ChatEvent> {
    try {
      yield* this.chat.run(namingServedModel(prepared.chat, prepared.settings), signal);
    } catch (error) {
      // The context guard names the chat field; here the conversation is `input`.
      if (error instanceof ContextLengthExceededError && error.param === 'messages') {
        throw new ContextLengthExceededError(error.promptTokens, error.contextLength, error.message, 'input');
      }
      throw error;
    }
  }

  /** The whole answer as the Response object (a non-streaming request). */
  async complete(prepared: PreparedResponse, signal: CancelSignal): Promise<Record<string, unknown>> {
    for await (const event of this.run(prepared, signal)) {
      if (event.type === 'done') return finishedResponse(prepared.settings, event.result);
    }
    throw new ClientClosedError();
  }

  /** `GET /v1/responses/{id}`: the Response object rebuilt from its stored exchange. */
  async retrieve(id: string): Promise<Record<string, unknown>> {
    return storedResponse(id, await this.stored(id));
  }

  /** `DELETE /v1/responses/{id}`: the stored exchange goes, from the history too. */
  async delete(id: string): Promise<{ id: string; object: 'response'; deleted: true }> {
    const exchange = await this.stored(id);
    if (!(await this.history.delete(exchange.id))) throw notFound(id);
    return { id, object: 'response', deleted: true };
  }

  /**
   * The stored response, as the caller may see it (the history's rule): a key sees the responses
   * it made, a key that reads all history sees every one; another key's is not found, as with
   * OpenAI, where a response belongs to its project.
   */
  private async stored(id: string, param?: string): Promise<ConversationExchange> {
    const exchange = await this.history.findByResponseId(id, historyOwner(this.caller.current()));
    if (!exchange || exchange.source !== 'responses') throw notFound(id, param);
    return exchange;
  }
}

function notFound(id: string, param?: string): NotFoundError {
  return param
    ? new NotFoundError(`Previous response with id '${id}' not found.`, { param, code: 'previous_response_not_found' })
    : new NotFoundError(`Response with id '${id}' not found.`, { code: 'response_not_found' });
}

/** The Response object of an answer that has just finished. */
export function finishedResponse(settings: ResponseSettings, result: ChatResult): Record<string, unknown> {
  const incomplete = result.finishReason === 'length';
  return responseObject({ ...settings, model: result.model }, {
    status: incomplete ? 'incomplete' : 'completed',
    output: outputOf(settings.id, { text: result.response, thinking: result.thinking, toolCalls: result.toolCalls }, incomplete ? 'incomplete' : 'completed'),
    usage: usageOf(result.usage.promptTokens, result.usage.completionTokens),
    completedAt: Math.floor(Date.now() / 1000),
  });
}

/** A stored exchange as the Response object it was answered as (its row status says how it ended). */
function storedResponse(id: string, exchange: ConversationExchange): Record<string, unknown> {
  const request = exchange.request;
  const answer = exchange.answer ?? {};
  const settings: ResponseSettings = {
    id,
    createdAt: Math.floor(exchange.ts.getTime() / 1000),
    model: exchange.model ?? request?.model ?? '',
    // Not kept apart from the messages: the opening system message may as well be Vega's own system prompt.
    instructions: null,
    previousResponseId: null,
    tools: request?.tools ?? [],
    toolChoice: request?.toolChoice,
    parallelToolCalls: request?.parallelToolCalls !== false,
    format: request?.format,
    think: request?.think,
    options: request?.options ?? {},
  };
  const status = storedStatus(exchange.status, answer.finishReason);
  const outcome: ResponseOutcome = {
    status,
    output: outputOf(id, { text: answer.text ?? exchange.response, thinking: answer.thinking ?? '', toolCalls: answer.toolCalls ?? [] }, status === 'completed' ? 'completed' : 'incomplete'),
    usage: exchange.promptTokens === null && exchange.completionTokens === null ? null : usageOf(exchange.promptTokens ?? 0, exchange.completionTokens ?? 0),
    ...(status === 'failed' ? { error: { code: 'server_error', message: 'the generation failed (the history keeps what the model had written)' } } : {}),
  };
  return responseObject(settings, outcome);
}

function storedStatus(status: ConversationExchange['status'], finishReason: string | undefined): ResponseStatus {
  switch (status) {
    case 'error':
      return 'failed';
    case 'aborted':
      return 'cancelled';
    default:
      return finishReason === 'length' ? 'incomplete' : 'completed';
  }
}

/** `text.format` as Ollama's `format`: none for text, `json` for any object, else the schema. */
function outputFormat(format: ResponseTextFormatDto | undefined): OutputFormat | undefined {
  if (!format || format.type === 'text') return undefined;
  if (format.type === 'json_object') return 'json';
  return { schema: format.schema!, name: format.name, ...(format.strict ? { strict: true } : {}) };
}

function toolDefinitions(body: CreateResponseRequestDto): ToolDefinition[] {
  return (body.tools ?? []).map((tool) => ({
    name: tool.name,
    ...(tool.description !== undefined ? { description: tool.description } : {}),
    ...(tool.parameters !== undefined ? { parameters: tool.parameters } : {}),
  }));
}

function toolChoiceOf(body: CreateResponseRequestDto): ToolChoice | undefined {
  const choice = body.tool_choice;
  if (choice === undefined) return undefined;
  return typeof choice === 'string' ? choice : { name: choice.name };
}

/** The sampling fields as Ollama options; fields the client left out keep the server settings. */
function samplingOptions(body: CreateResponseRequestDto): Record<string, unknown> {
  const options: Record<string, unknown> = { temperature: body.temperature, top_p: body.top_p, num_predict: body.max_output_tokens };
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined));
}
