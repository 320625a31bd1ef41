import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

export const FINISH_REASONS = ['stop', 'length', 'tool_calls'] as const;

export class CompletionTokensDetailsDto {
  @ApiProperty({
    description:
      "Of completion_tokens, those spent thinking. Ollama counts thinking and answer together: Vega splits its eval_count in proportion to the characters of each (0 when the model did not think).",
    example: 0,
  })
  reasoning_tokens!: number;
}

export class CompletionUsageDto {
  @ApiProperty({ description: 'Tokens in the prompt as counted by the backend (Ollama `prompt_eval_count`).', example: 42 })
  prompt_tokens!: number;

  @ApiProperty({ description: 'Tokens generated (Ollama `eval_count`).', example: 17 })
  completion_tokens!: number;

  @ApiProperty({ description: 'prompt_tokens + completion_tokens.', example: 59 })
  total_tokens!: number;

  @ApiProperty({ type: CompletionTokensDetailsDto })
  completion_tokens_details!: CompletionTokensDetailsDto;
}

export class ToolCallFunctionOutDto {
  @ApiProperty({ description: 'The function the model called.', example: 'get_weather' })
  name!: string;

  @ApiProperty({ description: 'Its arguments, a JSON object as a string (Ollama gives an object; Vega serialises it).', example: '{"city":"Oslo"}' })
  arguments!: string;
}

export class ToolCallOutDto {
  @ApiProperty({ description: "The call's id (Ollama's `call_…`); the `tool` message with the result names it in `tool_call_id`.", example: 'call_a1b2c3d4' })
  id!: string;

  @ApiProperty({ description: 'Always `function`.', enum: ['function'] })
  type!: 'function';

  @ApiProperty({ type: ToolCallFunctionOutDto })
  function!: ToolCallFunctionOutDto;
}

export class TopLogprobDto {
  @ApiProperty({ description: 'The token.', example: 'Hello' })
  token!: string;

  @ApiProperty({ description: 'Its log probability.', example: -0.12 })
  logprob!: number;

  @ApiProperty({ description: "The token's UTF-8 bytes.", type: [Number], nullable: true, example: [72, 101, 108, 108, 111] })
  bytes!: number[] | null;
}

export class TokenLogprobDto extends TopLogprobDto {
  @ApiProperty({ description: 'The most likely tokens at this position (as many as `top_logprobs` asked; empty without it).', type: [TopLogprobDto] })
  top_logprobs!: TopLogprobDto[];
}

export class ChoiceLogprobsDto {
  @ApiProperty({ description: 'One entry per answer token, as Ollama gives them.', type: [TokenLogprobDto] })
  content!: TokenLogprobDto[];

  @ApiProperty({ description: 'Always null.', type: 'string', nullable: true, example: null })
  refusal!: null;
}

export class AssistantMessageDto {
  @ApiProperty({ description: 'Always `assistant`.', enum: ['assistant'], example: 'assistant' })
  role!: 'assistant';

  @ApiProperty({
    description: 'The answer, truncated to MAX_RESPONSE_CHARS with "…" when longer; null when the model only called tools.',
    type: 'string',
    nullable: true,
    example: 'A circuit breaker stops calls to a failing service…',
  })
  content!: string | null;

  @ApiProperty({ description: 'Always null: Vega does not report refusals apart.', type: 'string', nullable: true, example: null })
  refusal!: null;

  @ApiPropertyOptional({ description: 'The function calls the model asked for (then `finish_reason` is `tool_calls`); absent when it made none.', type: [ToolCallOutDto] })
  tool_calls?: ToolCallOutDto[];

  @ApiPropertyOptional({ description: "The model's reasoning (Ollama `thinking`), under the name DeepSeek, vLLM and LangChain read; absent when it did not think.", example: 'The user asks…' })
  reasoning_content?: string;

  @ApiPropertyOptional({ description: 'The same reasoning, under the name Ollama and OpenRouter use.', example: 'The user asks…' })
  reasoning?: string;
}

export class ChatCompletionChoiceDto {
  @ApiProperty({ description: 'Which choice: 0 to n-1.', example: 0 })
  index!: number;

  @ApiProperty({ type: AssistantMessageDto })
  message!: AssistantMessageDto;

  @ApiProperty({
    description: '`stop`: the model finished; `length`: it hit max_tokens (num_predict) or MAX_RESPONSE_CHARS; `tool_calls`: it stopped to have its tool calls run.',
    enum: FINISH_REASONS,
    example: 'stop',
  })
  finish_reason!: (typeof FINISH_REASONS)[number];

  @ApiProperty({ description: 'With `logprobs: true`, the log probability of each answer token; else null.', type: ChoiceLogprobsDto, nullable: true })
  logprobs!: ChoiceLogprobsDto | null;
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

  @ApiProperty({ description: 'One choice per `n` (default 1), in index order.', type: [ChatCompletionChoiceDto] })
  choices!: ChatCompletionChoiceDto[];

  @ApiProperty({ type: CompletionUsageDto })
  usage!: CompletionUsageDto;
}

export class ToolCallFunctionDeltaDto {
  @ApiPropertyOptional({ description: "Only in a call's first delta: the function's name.", example: 'get_weather' })
  name?: string;

  @ApiProperty({ description: "The next piece of the arguments' JSON string: empty in the call's first delta, then the whole JSON object in the next.", example: '{"city":"Oslo"}' })
  arguments!: string;
}

export class ToolCallDeltaDto {
  @ApiProperty({ description: 'Which call of this choice (0, 1, …): pieces with the same index belong together.', example: 0 })
  index!: number;

  @ApiPropertyOptional({ description: "Only in a call's first delta: its id.", example: 'call_a1b2c3d4' })
  id?: string;

  @ApiPropertyOptional({ description: "Only in a call's first delta: `function`.", enum: ['function'] })
  type?: 'function';

  @ApiProperty({ type: ToolCallFunctionDeltaDto })
  function!: ToolCallFunctionDeltaDto;
}

export class ChunkDeltaDto {
  @ApiPropertyOptional({ description: "Only in a choice's first chunk: `assistant`.", enum: ['assistant'] })
  role?: 'assistant';

  @ApiPropertyOptional({
    description: "The next piece of the answer: empty in a choice's first chunk, null there when the choice begins with a tool call.",
    type: 'string',
    nullable: true,
    example: 'A circuit',
  })
  content?: string | null;

  @ApiPropertyOptional({ description: 'The next piece of the reasoning (Ollama `thinking`), for clients that read `reasoning_content`.', example: 'Let me' })
  reasoning_content?: string;

  @ApiPropertyOptional({ description: 'The same piece of reasoning, for clients that read `reasoning`.', example: 'Let me' })
  reasoning?: string;

  @ApiPropertyOptional({
    description: "Tool calls as OpenAI streams them: a call's first delta has index, id, type and function.name with empty arguments; the next has the same index and the arguments.",
    type: [ToolCallDeltaDto],
  })
  tool_calls?: ToolCallDeltaDto[];
}

export class ChatCompletionChunkChoiceDto {
  @ApiProperty({ description: 'Which choice this chunk belongs to (0 to n-1).', example: 0 })
  index!: number;

  @ApiProperty({ type: ChunkDeltaDto, description: "What this chunk adds; empty in the choice's last chunk." })
  delta!: ChunkDeltaDto;

  @ApiProperty({ description: "With `logprobs: true`, the log probabilities of this chunk's tokens; else null.", type: ChoiceLogprobsDto, nullable: true })
  logprobs!: ChoiceLogprobsDto | null;

  @ApiProperty({ description: "null until the choice's last chunk, which says `stop`, `length` or `tool_calls`.", enum: [...FINISH_REASONS, null], nullable: true, example: null })
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

  @ApiProperty({ description: 'One choice (with n > 1, chunks of the choices interleave); empty in the usage chunk.', type: [ChatCompletionChunkChoiceDto] })
  choices!: ChatCompletionChunkChoiceDto[];

  @ApiPropertyOptional({
    description: 'Only with `stream_options.include_usage`: null in every chunk but the last one before `[DONE]`.',
    type: CompletionUsageDto,
    nullable: true,
  })
  usage?: CompletionUsageDto | null;
}
