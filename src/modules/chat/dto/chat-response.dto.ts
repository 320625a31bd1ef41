import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

export class UsageDto {
  @ApiProperty({ description: 'Tokens in the prompt as counted by the backend (prompt_eval_count).', example: 42 })
  prompt_tokens!: number;

  @ApiProperty({ description: 'Tokens generated (eval_count).', example: 17 })
  completion_tokens!: number;
}

export class ChatResponseDto {
  @ApiProperty({ description: 'The answer, truncated to MAX_RESPONSE_CHARS with "…" when longer.', example: 'A circuit breaker…' })
  response!: string;

  @ApiProperty({
    description: 'Id of the stored exchange (for /feedback and /conversations/{id}); null when the database was locked past DB_WRITE_WAIT_SEC (see conversation_pending).',
    example: 1234,
    type: 'integer',
    nullable: true,
  })
  conversation_id!: number | null;

  @ApiPropertyOptional({
    description: 'Present (true) only when the exchange could not be stored yet: it waits in the spool and is written once the database is free.',
    example: true,
  })
  conversation_pending?: true;

  @ApiProperty({ description: 'The session the exchange belongs to; send it back to continue the conversation.', example: 'a1b2c3d4e5f60718' })
  session_id!: string;

  @ApiProperty({ description: 'The model that answered.', example: 'mistral' })
  model!: string;

  @ApiProperty({ description: 'true when the answer came from the response cache.', example: false })
  cached!: boolean;

  @ApiProperty({ type: UsageDto })
  usage!: UsageDto;

  @ApiPropertyOptional({
    description: "The model's reasoning before its answer; present when it reasoned (`think`).",
    example: 'The user asks about a circuit breaker, so…',
  })
  thinking?: string;
}

export class SseDoneEventDto {
  @ApiProperty({ example: 1234, type: 'integer', nullable: true })
  conversation_id!: number | null;

  @ApiPropertyOptional({ example: true })
  conversation_pending?: true;

  @ApiProperty({ example: 'a1b2c3d4e5f60718' })
  session_id!: string;

  @ApiProperty({ example: 'mistral' })
  model!: string;

  @ApiProperty({ example: false })
  cached!: boolean;

  @ApiProperty({ type: UsageDto })
  usage!: UsageDto;

  @ApiPropertyOptional({
    description: "The model's reasoning before its answer; present when it reasoned (`think`).",
    example: 'The user asks about a circuit breaker, so…',
  })
  thinking?: string;
}
