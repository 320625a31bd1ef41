import type { TokenLogprob } from '../../core/llm/llm-backend';
import type { TextCompletionLogprobsDto, TextCompletionResponseDto, TextCompletionUsageDto } from './dto/text-completion-response.dto';
import type { PreparedTextCompletion, TextCompletionResult } from './openai-completions.service';

export function textCompletionUsage(result: TextCompletionResult): TextCompletionUsageDto {
  const { promptTokens, completionTokens } = result.usage;
  return { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens };
}

/**
 * OpenAI's legacy log probabilities of `tokens`, the first starting at character `offset` of
 * the choice's text: parallel arrays, the alternatives as `{token: logprob}` objects.
 */
export function legacyLogprobs(tokens: readonly TokenLogprob[], offset: number): TextCompletionLogprobsDto {
  const result: TextCompletionLogprobsDto = { tokens: [], token_logprobs: [], top_logprobs: [], text_offset: [] };
  for (const token of tokens) {
    result.tokens.push(token.token);
    result.token_logprobs.push(token.logprob);
    result.top_logprobs.push(Object.fromEntries((token.topLogprobs ?? []).map((top) => [top.token, top.logprob])));
    result.text_offset.push(offset);
    offset += token.token.length;
  }
  return result;
}

/** The body of a non-streaming answer: the echoed prompt (if asked) then the generated text. */
export function textCompletionResponse(prepared: PreparedTextCompletion, result: TextCompletionResult): TextCompletionResponseDto {
  return {
    id: prepared.id,
    object: 'text_completion',
    created: prepared.created,
    model: result.model,
    choices: [
      {
        text: prepared.echo + result.text,
        index: 0,
        logprobs: prepared.logprobs ? legacyLogprobs(result.logprobs, prepared.echo.length) : null,
        finish_reason: result.finishReason,
      },
    ],
    usage: textCompletionUsage(result),
  };
}

/**
 * The `text_completion` chunks of one stream: text fragments (the echoed prompt first), a last
 * chunk with empty text and the finish reason; with `include_usage` every chunk has `usage: null`
 * and one more chunk, with empty `choices`, has the usage.
 */
export class TextCompletionFrames {
  /** Characters of the choice's text sent so far: where the next token's `text_offset` starts. */
  private offset = 0;

  constructor(private readonly prepared: PreparedTextCompletion) {}

  /** The echoed prompt, sent before the first token; undefined without `echo`. */
  echo(): TextCompletionResponseDto | undefined {
    if (!this.prepared.echo) return undefined;
    this.offset = this.prepared.echo.length;
    return this.chunk(this.prepared.echo, null, null);
  }

  text(text: string, logprobs: TokenLogprob[] | undefined): TextCompletionResponseDto {
    const frame = this.chunk(text, this.prepared.logprobs ? legacyLogprobs(logprobs ?? [], this.offset) : null, null);
    this.offset += text.length;
    return frame;
  }

  finish(result: TextCompletionResult): TextCompletionResponseDto {
    return this.chunk('', null, result.finishReason);
  }

  usage(result: TextCompletionResult): TextCompletionResponseDto {
    return { ...this.base(), choices: [], usage: textCompletionUsage(result) };
  }

  private chunk(text: string, logprobs: TextCompletionLogprobsDto | null, finishReason: 'stop' | 'length' | null): TextCompletionResponseDto {
    return { ...this.base(), choices: [{ text, index: 0, logprobs, finish_reason: finishReason }] };
  }

  private base(): TextCompletionResponseDto {
    const { id, created, model, includeUsage } = this.prepared;
    const frame: TextCompletionResponseDto = { id, object: 'text_completion', created, model, choices: [] };
    if (includeUsage) frame.usage = null;
    return frame;
  }
}
