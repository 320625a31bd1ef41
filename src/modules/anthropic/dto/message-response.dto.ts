import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

export class ResponseContentBlockDto {
  @ApiProperty({ enum: ['thinking', 'text', 'tool_use'], description: 'In this order: the reasoning (when the model thought), the text, the tool calls.' })
  type!: 'thinking' | 'text' | 'tool_use';

  @ApiPropertyOptional({ description: '`text` blocks: the answer.' })
  text?: string;

  @ApiPropertyOptional({ description: "`thinking` blocks: the model's reasoning (Ollama `thinking`)." })
  thinking?: string;

  @ApiPropertyOptional({ description: '`thinking` blocks: the SHA-256 of the thinking, base64 (Vega signs nothing; it accepts any signature sent back).' })
  signature?: string;

  @ApiPropertyOptional({ description: '`tool_use` blocks: the call id, to name in the tool_result.', example: 'call_a1b2c3d4' })
  id?: string;

  @ApiPropertyOptional({ description: '`tool_use` blocks: the tool called.', example: 'get_weather' })
  name?: string;

  @ApiPropertyOptional({ description: '`tool_use` blocks: the arguments.', type: 'object', additionalProperties: true })
  input?: Record<string, unknown>;
}

export class MessageUsageDto {
  @ApiProperty({ description: "Prompt tokens as Ollama counted them (the context guard's estimate for a cached answer or one Vega stopped at a stop sequence).", example: 25 })
  input_tokens!: number;

  @ApiProperty({ description: 'Generated tokens, thinking included.', example: 40 })
  output_tokens!: number;
}

/** Anthropic's message object: the answer of `POST /v1/messages`. */
export class MessageResponseDto {
  @ApiProperty({ description: '`msg_` and 24 hex digits; the hex part is the stored exchange\'s session_id.', example: 'msg_0123456789abcdef01234567' })
  id!: string;

  @ApiProperty({ enum: ['message'] })
  type!: 'message';

  @ApiProperty({ enum: ['assistant'] })
  role!: 'assistant';

  @ApiProperty({ example: 'mistral' })
  model!: string;

  @ApiProperty({ type: [ResponseContentBlockDto] })
  content!: ResponseContentBlockDto[];

  @ApiProperty({
    enum: ['end_turn', 'max_tokens', 'stop_sequence', 'tool_use'],
    description: '`max_tokens` also when the answer reached MAX_RESPONSE_CHARS.',
    nullable: true,
  })
  stop_reason!: string | null;

  @ApiProperty({ description: 'The stop sequence that ended the answer, or null.', type: 'string', nullable: true })
  stop_sequence!: string | null;

  @ApiProperty({ type: MessageUsageDto })
  usage!: MessageUsageDto;
}

export class MessageTokensCountDto {
  @ApiProperty({ description: "The prompt's size in tokens by Vega's estimate (one token per 3 UTF-8 bytes, plus per-message and per-image allowances): Ollama has no tokenizer route, so this is an estimate, on the high side.", example: 42 })
  input_tokens!: number;
}

/** One event of a streamed answer (the `data:` of each `event:` frame). */
export class MessageStreamEventDto {
  @ApiProperty({
    enum: ['message_start', 'ping', 'content_block_start', 'content_block_delta', 'content_block_stop', 'message_delta', 'message_stop', 'error'],
    description: 'Equal to the frame\'s `event:` name.',
  })
  type!: string;

  @ApiPropertyOptional({ description: 'message_start: the message, with empty content.', type: MessageResponseDto })
  message?: MessageResponseDto;

  @ApiPropertyOptional({ description: 'content_block_*: the block index.' })
  index?: number;

  @ApiPropertyOptional({ description: 'content_block_start: the block, empty.', type: ResponseContentBlockDto })
  content_block?: ResponseContentBlockDto;

  @ApiPropertyOptional({
    description: 'content_block_delta: `text_delta` {text}, `thinking_delta` {thinking}, `signature_delta` {signature}, `input_json_delta` {partial_json}; message_delta: {stop_reason, stop_sequence}.',
    type: 'object',
    additionalProperties: true,
  })
  delta?: Record<string, unknown>;

  @ApiPropertyOptional({ description: 'message_delta: the usage of the whole answer.', type: MessageUsageDto })
  usage?: MessageUsageDto;
}
