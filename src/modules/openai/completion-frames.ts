import type { ChatResult } from '../chat/chat.service';
import type {
  ChatCompletionChunkChoiceDto,
  ChatCompletionChunkDto,
  ChatCompletionResponseDto,
  CompletionUsageDto,
} from './dto/chat-completion-response.dto';
import type { PreparedCompletion } from './openai-chat.service';

/** The end of an OpenAI stream. */
export const DONE_FRAME = '[DONE]';

export function usageOf(result: ChatResult): CompletionUsageDto {
  const { promptTokens, completionTokens } = result.usage;
  return { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens };
}

/** The body of a non-streaming answer. */
export function completionResponse(prepared: PreparedCompletion, result: ChatResult): ChatCompletionResponseDto {
  return {
    id: prepared.id,
    object: 'chat.completion',
    created: prepared.created,
    model: prepared.model,
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: result.response, refusal: null },
        finish_reason: result.finishReason,
        logprobs: null,
      },
    ],
    usage: usageOf(result),
  };
}

/**
 * The `chat.completion.chunk` frames of one stream: the first carries `delta.role`, the next
 * ones `delta.content`, the last an empty delta and the finish reason; with `include_usage`
 * every chunk has `usage: null` and one more chunk, with empty `choices`, has the usage.
 */
export class CompletionFrames {
  constructor(private readonly prepared: PreparedCompletion) {}

  first(): ChatCompletionChunkDto {
    return this.chunk([choice({ role: 'assistant', content: '' }, null)]);
  }

  content(text: string): ChatCompletionChunkDto {
    return this.chunk([choice({ content: text }, null)]);
  }

  finish(result: ChatResult): ChatCompletionChunkDto {
    return this.chunk([choice({}, result.finishReason)]);
  }

  usage(result: ChatResult): ChatCompletionChunkDto {
    return this.chunk([], usageOf(result));
  }

  private chunk(choices: ChatCompletionChunkChoiceDto[], usage: CompletionUsageDto | null = null): ChatCompletionChunkDto {
    const { id, created, model, includeUsage } = this.prepared;
    const frame: ChatCompletionChunkDto = { id, object: 'chat.completion.chunk', created, model, choices };
    if (includeUsage) frame.usage = usage;
    return frame;
  }
}

function choice(delta: ChatCompletionChunkChoiceDto['delta'], finishReason: ChatCompletionChunkChoiceDto['finish_reason']): ChatCompletionChunkChoiceDto {
  return { index: 0, delta, logprobs: null, finish_reason: finishReason };
}
