import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

export const FINISH_REASONS = ['stop', 'length', 'tool_calls'] as const;

export class CompletionUsageDto {
  @ApiProperty({ description: 'Tokens in the prompt as counted by the backend (Ollama `prompt_eval_count`).', example: 42 })
  prompt_tokens!: number;

  @ApiProperty({ description: 'Tokens generated (Ollama `eval_count`).', example: 17 })
  completion_tokens!: number;

  @ApiProperty({ description: 'prompt_tokens + completion_tokens.', example: 59 })
  total_tokens!: number;
}

export class AssistantMessageDto {
  @ApiProperty({ description: 'Always `assistant`.', enum: ['assistant'], example: 'assistant' })
  role!: 'assistant';

  @ApiProperty({ description: 'The answer, truncated to MAX_RESPONSE_CHARS with "…" when longer.', example: 'A circuit breaker stops calls to a failing service…' })
  content!: string;

  @ApiProperty({ description: 'Always null: Vega does not report refusals apart.', type: 'string', nullable: true, example: null })
  refusal!: null;
}

export class ChatCompletionChoiceDto {
  @ApiProperty({ description: 'Always 0 (one choice per request).', example: 0 })
  index!: number;

  @ApiProperty({ type: AssistantMessageDto })
  message!: AssistantMessageDto;

  @ApiProperty({
    description: '`stop`: the model finished; `length`: it hit max_tokens (num_predict) or MAX_RESPONSE_CHARS.',
    enum: FINISH_REASONS,
    example: 'stop',
  })
  finish_reason!: (typeof FINISH_REASONS)[number];

  @ApiProperty({ description: 'Always null: log probabilities are not offered.', type: 'object', additionalProperties: true, nullable: true, example: null })
  logprobs!: null;
}

/** The answer of a non-streaming `POST /v1/chat/completions`. */
export class ChatCompletionResponseDto {
  @ApiProperty({
    description: 'The completion id. Its hex part is the `session_id` of the stored exchange (see GET /session/{session_id}).',
    example: 'chatcmpl-3f2a9c1e5b7d4a60a1b2c3d4',
  })
  id!: string;

  @ApiProperty({ description: 'Always `chat.completion`.', enum: ['chat.completion'], example: 'chat.completion' })
  object!: 'chat.completion';

  @ApiProperty({ description: 'When the request arrived (Unix seconds).', example: 1767225600 })
  created!: number;

  @ApiProperty({ description: 'The model, as requested.', example: 'mistral' })
  model!: string;

  @ApiProperty({ description: 'Exactly one choice.', type: [ChatCompletionChoiceDto] })
  choices!: ChatCompletionChoiceDto[];

  @ApiProperty({ type: CompletionUsageDto })
  usage!: CompletionUsageDto;
}

export class ChunkDeltaDto {
  @ApiPropertyOptional({ description: 'Only in the first chunk: `assistant`.', enum: ['assistant'] })
  role?: 'assistant';

  @ApiPropertyOptional({ description: 'The next piece of the answer (empty in the first chunk).', example: 'A circuit' })
  content?: string;
}

export class ChatCompletionChunkChoiceDto {
  @ApiProperty({ description: 'Always 0.', example: 0 })
  index!: number;

  @ApiProperty({ type: ChunkDeltaDto, description: 'What this chunk adds; empty in the last chunk.' })
  delta!: ChunkDeltaDto;

  @ApiProperty({ description: 'Always null.', type: 'object', additionalProperties: true, nullable: true, example: null })
  logprobs!: null;

  @ApiProperty({ description: 'null until the last chunk, which says `stop` or `length`.', enum: [...FINISH_REASONS, null], nullable: true, example: null })
  finish_reason!: (typeof FINISH_REASONS)[number] | null;
}

/** One `data:` frame of a streamed `POST /v1/chat/completions`. */
export class ChatCompletionChunkDto {
  @ApiProperty({ description: 'The same id in every chunk of a stream.', example: 'chatcmpl-3f2a9c1e5b7d4a60a1b2c3d4' })
  id!: string;

  @ApiProperty({ description: 'Always `chat.completion.chunk`.', enum: ['chat.completion.chunk'] })
  object!: 'chat.completion.chunk';

  @ApiProperty({ description: 'When the request arrived (Unix seconds); the same in every chunk.', example: 1767225600 })
  created!: number;

  @ApiProperty({ description: 'The model, as requested.', example: 'mistral' })
  model!: string;

  @ApiProperty({ description: 'One choice; empty in the usage chunk.', type: [ChatCompletionChunkChoiceDto] })
  choices!: ChatCompletionChunkChoiceDto[];

  @ApiPropertyOptional({
    description: 'Only with `stream_options.include_usage`: null in every chunk but the last one before `[DONE]`.',
    type: CompletionUsageDto,
    nullable: true,
  })
  usage?: CompletionUsageDto | null;
}
