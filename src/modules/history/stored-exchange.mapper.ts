import type { ToolCall } from '../../core/llm/llm-backend';
import type { ConversationExchange } from '../../core/persistence/conversation-history.repository';
import type { StoredAnswer, StoredMessage, StoredRequest } from '../../core/persistence/stored-exchange';
import { toConversationDto } from './conversation.mapper';
import type {
  ConversationExchangeDto,
  StoredAnswerDto,
  StoredMessageDto,
  StoredRequestDto,
  StoredToolCallDto,
} from './dto/stored-exchange.dto';

/**
 * The stored exchange in the API's own spelling (snake_case), field by field: tool-call
 * arguments, options and schemas are the client's own objects and pass through untouched.
 */
export function toExchangeDto(exchange: ConversationExchange): ConversationExchangeDto {
  return {
    ...toConversationDto(exchange),
    kind: exchange.kind,
    request: exchange.request ? toRequestDto(exchange.request) : null,
    answer: exchange.answer ? toAnswerDto(exchange.answer) : null,
    response_id: exchange.responseId,
  };
}

const toolCalls = (calls: ToolCall[]): StoredToolCallDto[] => calls.map(({ id, name, arguments: args }) => ({ id, name, arguments: args }));

/** Copies the fields that are set, under their wire names. */
function defined<T extends object>(fields: T): T {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined)) as T;
}

function toMessageDto(message: StoredMessage): StoredMessageDto {
  return defined({
    role: message.role,
    content: message.content,
    images: message.images,
    thinking: message.thinking,
    tool_calls: message.toolCalls && toolCalls(message.toolCalls),
    tool_call_id: message.toolCallId,
    tool_name: message.toolName,
  });
}

function toRequestDto(request: StoredRequest): StoredRequestDto {
  return defined({
    model: request.model,
    messages: request.messages?.map(toMessageDto),
    prompt: request.prompt,
    suffix: request.suffix,
    system: request.system,
    template: request.template,
    raw: request.raw,
    context_tokens: request.contextTokens,
    images: request.images,
    input: request.input,
    dimensions: request.dimensions,
    truncate: request.truncate,
    options: request.options,
    tools: request.tools,
    tool_choice: request.toolChoice,
    parallel_tool_calls: request.parallelToolCalls,
    format: request.format,
    think: request.think,
    keep_alive: request.keepAlive,
    logprobs: request.logprobs,
    top_logprobs: request.topLogprobs,
  });
}

function toAnswerDto(answer: StoredAnswer): StoredAnswerDto {
  return defined({
    text: answer.text,
    thinking: answer.thinking,
    tool_calls: answer.toolCalls && toolCalls(answer.toolCalls),
    finish_reason: answer.finishReason,
    stop_sequence: answer.stopSequence,
    inputs: answer.inputs,
    dimensions: answer.dimensions,
  });
}
