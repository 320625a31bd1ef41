import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

/** OpenAI's legacy log probabilities: parallel arrays over the generated tokens. */
export class TextCompletionLogprobsDto {
  @ApiProperty({ description: 'The generated tokens, in order.', type: [String] })
  tokens!: string[];

  @ApiProperty({ description: 'The log probability of each token.', type: [Number] })
  token_logprobs!: number[];

  @ApiProperty({
    description: 'At each token, the most likely alternatives (`logprobs` of them) as `{token: logprob}`.',
    type: 'array',
    items: { type: 'object', additionalProperties: { type: 'number' } },
  })
  top_logprobs!: Record<string, number>[];

  @ApiProperty({ description: "Each token's character offset in `text` (after the prompt with `echo`).", type: [Number] })
  text_offset!: number[];
}

export class TextCompletionChoiceDto {
  @ApiProperty({ description: 'The generated text (the prompt first with `echo`); a fragment in a stream chunk.', example: ' there was a gateway.' })
  text!: string;

  @ApiProperty({ example: 0 })
  index!: number;

  @ApiProperty({ type: TextCompletionLogprobsDto, nullable: true })
  logprobs!: TextCompletionLogprobsDto | null;

  @ApiProperty({
    description: '`stop` (the model finished or hit a stop sequence) or `length` (`max_tokens` or MAX_RESPONSE_CHARS); null in stream chunks before the last.',
    enum: ['stop', 'length'],
    nullable: true,
    type: 'string',
  })
  finish_reason!: 'stop' | 'length' | null;
}

export class TextCompletionUsageDto {
  @ApiProperty({ example: 4 })
  prompt_tokens!: number;

  @ApiProperty({ example: 12 })
  completion_tokens!: number;

  @ApiProperty({ example: 16 })
  total_tokens!: number;
}

/** A legacy completion, or (with `stream: true`) one chunk of it. */
export class TextCompletionResponseDto {
  @ApiProperty({ description: '`cmpl-<hex>`; the hex part is the stored exchange\'s session_id.', example: 'cmpl-3f2a9c1b7d4e5f60a1b2c3d4' })
  id!: string;

  @ApiProperty({ enum: ['text_completion'], example: 'text_completion' })
  object!: 'text_completion';

  @ApiProperty({ description: 'Unix seconds.', example: 1767225600 })
  created!: number;

  @ApiProperty({ example: 'mistral' })
  model!: string;

  @ApiProperty({ type: [TextCompletionChoiceDto] })
  choices!: TextCompletionChoiceDto[];

  @ApiPropertyOptional({ type: TextCompletionUsageDto, nullable: true, description: 'Absent from stream chunks unless `stream_options.include_usage`, then null except in the last.' })
  usage?: TextCompletionUsageDto | null;
}
