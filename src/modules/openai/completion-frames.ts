import type { TokenLogprob, ToolCall } from '../../core/llm/llm-backend';
import type { ChatEvent, ChatResult } from '../chat/chat.service';
import type {
  AssistantMessageDto,
  ChatCompletionChunkChoiceDto,
  ChatCompletionChunkDto,
  ChatCompletionResponseDto,
  ChoiceLogprobsDto,
  CompletionUsageDto,
  TokenLogprobDto,
  ToolCallOutDto,
} from './dto/chat-completion-response.dto';
import type { PreparedCompletion } from './openai-chat.service';

/** The end of an OpenAI stream. */
export const DONE_FRAME = '[DONE]';

/**
 * The usage of all choices: the prompt once (every choice read the same one), the completions
 * added up. Ollama's eval_count covers thinking and answer alike; the thinking's share is
 * estimated by characters.
 */
export function usageOf(results: ChatResult[]): CompletionUsageDto {
  let promptTokens = 0;
  let completionTokens = 0;
  let reasoningTokens = 0;
  for (const result of results) {
    promptTokens = Math.max(promptTokens, result.usage.promptTokens);
    completionTokens += result.usage.completionTokens;
    reasoningTokens += reasoningShare(result);
  }
  return {
    prompt_tokens: promptTokens,
    completion_tokens: completionTokens,
    total_tokens: promptTokens + completionTokens,
    completion_tokens_details: { reasoning_tokens: reasoningTokens },
  };
}

function reasoningShare(result: ChatResult): number {
  if (!result.thinking) return 0;
  const answerChars = result.response.length + result.toolCalls.reduce((sum, call) => sum + JSON.stringify(call.arguments).length + call.name.length, 0);
  const thinkingChars = result.thinking.length;
  return Math.round((result.usage.completionTokens * thinkingChars) / (thinkingChars + answerChars));
}

export function wireToolCall(call: ToolCall): ToolCallOutDto {
  return { id: call.id, type: 'function', function: { name: call.name, arguments: JSON.stringify(call.arguments) } };
}

function wireLogprobs(logprobs: TokenLogprob[]): ChoiceLogprobsDto {
  return {
    content: logprobs.map(
      (entry): TokenLogprobDto => ({
        token: entry.token,
        logprob: entry.logprob,
        bytes: entry.bytes ?? [...Buffer.from(entry.token, 'utf8')],
        top_logprobs: (entry.topLogprobs ?? []).map((top) => ({ token: top.token, logprob: top.logprob, bytes: top.bytes ?? [...Buffer.from(top.token, 'utf8')] })),
      }),
    ),
    refusal: null,
  };
}

function assistantMessage(result: ChatResult): AssistantMessageDto {
  const calls = result.toolCalls.length > 0;
  return {
    role: 'assistant',
    content: calls && result.response === '' ? null : result.response,
    refusal: null,
    ...(calls ? { tool_calls: result.toolCalls.map(wireToolCall) } : {}),
    ...(result.thinking ? { reasoning_content: result.thinking, reasoning: result.thinking } : {}),
  };
}

/** The body of a non-streaming answer: one choice per result, in index order. */
export function completionResponse(prepared: PreparedCompletion, results: ChatResult[]): ChatCompletionResponseDto {
  return {
    id: prepared.id,
    object: 'chat.completion',
    created: prepared.created,
    // The model that answered: a fallback of the one asked for, possibly.
    model: results[0]?.model ?? prepared.model,
    choices: results.map((result, index) => ({
      index,
      message: assistantMessage(result),
      finish_reason: result.finishReason,
      logprobs: prepared.logprobs ? wireLogprobs(result.logprobs ?? []) : null,
    })),
    usage: usageOf(results),
  };
}

/**
 * The `chat.completion.chunk` frames of one stream. Each choice begins with a delta carrying
 * `role` (with `content: ""`, or `content: null` and the call when it begins with a tool call);
 * then answer pieces in `content`, reasoning pieces in both `reasoning_content` and `reasoning`,
 * and each tool call as two deltas — index, id, type, name and empty arguments, then the
 * arguments whole — as OpenAI's SDKs assemble them; the choice's last chunk has an empty delta
 * and the finish reason. With `include_usage` every chunk has `usage: null` and one more chunk,
 * with empty `choices`, has the usage.
 */
export class CompletionFrames {
  /** Per choice: whether its first delta went out, and how many tool calls it has made. */
  private readonly started = new Set<number>();
  private readonly callCounts = new Map<number, number>();

  constructor(private readonly prepared: PreparedCompletion) {}

  /** The frames for one event of choice `index` (the `done` event gives the finish chunk). */
  frames(index: number, event: ChatEvent): ChatCompletionChunkDto[] {
    const frames: ChatCompletionChunkDto[] = [];
    const first = !this.started.has(index);
    this.started.add(index);
    switch (event.type) {
      case 'token':
        if (first) frames.push(this.chunk(index, { role: 'assistant', content: '' }));
        frames.push(this.chunk(index, { content: event.text }, null, event.logprobs));
        break;
      case 'thinking':
        if (first) frames.push(this.chunk(index, { role: 'assistant', content: '' }));
        frames.push(this.chunk(index, { reasoning_content: event.text, reasoning: event.text }));
        break;
      case 'tool_call': {
        const at = this.callCounts.get(index) ?? 0;
        this.callCounts.set(index, at + 1);
        const { call } = event;
        const opening = { index: at, id: call.id, type: 'function' as const, function: { name: call.name, arguments: '' } };
        frames.push(this.chunk(index, first ? { role: 'assistant', content: null, tool_calls: [opening] } : { tool_calls: [opening] }));
        frames.push(this.chunk(index, { tool_calls: [{ index: at, function: { arguments: JSON.stringify(call.arguments) } }] }));
        break;
      }
      case 'done':
        if (first) frames.push(this.chunk(index, { role: 'assistant', content: '' }));
        frames.push(this.chunk(index, {}, event.result.finishReason));
        break;
    }
    return frames;
  }

  usage(results: ChatResult[]): ChatCompletionChunkDto {
    return this.frame([], usageOf(results));
  }

  private chunk(
    index: number,
    delta: ChatCompletionChunkChoiceDto['delta'],
    finishReason: ChatCompletionChunkChoiceDto['finish_reason'] = null,
    logprobs?: TokenLogprob[],
  ): ChatCompletionChunkDto {
    const choice: ChatCompletionChunkChoiceDto = {
      index,
      delta,
      logprobs: this.prepared.logprobs && logprobs ? wireLogprobs(logprobs) : null,
      finish_reason: finishReason,
    };
    return this.frame([choice]);
  }

  private frame(choices: ChatCompletionChunkChoiceDto[], usage: CompletionUsageDto | null = null): ChatCompletionChunkDto {
    const { id, created, model, includeUsage } = this.prepared;
    const frame: ChatCompletionChunkDto = { id, object: 'chat.completion.chunk', created, model, choices };
    if (includeUsage) frame.usage = usage;
    return frame;
  }
}
