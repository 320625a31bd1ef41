import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsOptional, IsString, Matches, MaxLength, MinLength, Validate } from 'class-validator';
import { OllamaOptionsConstraint, OLLAMA_OPTIONS } from './ollama-options.validator';

export const SESSION_ID_PATTERN = /^[A-Za-z0-9_-]+$/;
export const MODEL_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:/@+-]*$/;

/** Fields shared by `POST /chat`, `POST /chat/sse` and `GET /chat/sse`. */
export class ChatQueryDto {
  @ApiProperty({
    description: 'The user message. 1..MAX_PROMPT_CHARS characters (default 4000); longer prompts are refused with 413.',
    example: 'Explain what a circuit breaker does in two sentences.',
    minLength: 1,
  })
  @IsString()
  @MinLength(1, { message: 'prompt must not be empty' })
  prompt!: string;

  @ApiPropertyOptional({
    description:
      'Conversation to continue. Its last MEMORY_TURNS exchanges are sent to the model as history. A new 16-hex-character id is made when absent.',
    example: 'a1b2c3d4e5f60718',
    maxLength: 64,
    pattern: SESSION_ID_PATTERN.source,
  })
  @IsOptional()
  @IsString()
  @MaxLength(64)
  @Matches(SESSION_ID_PATTERN, { message: 'session_id may only contain letters, digits, "_" and "-"' })
  session_id?: string;

  @ApiPropertyOptional({ description: 'Model to use instead of MODEL_NAME.', example: 'llama3.1:8b', maxLength: 200 })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  @Matches(MODEL_PATTERN, { message: 'model is not a valid model name' })
  model?: string;
}

export class ChatRequestDto extends ChatQueryDto {
  @ApiPropertyOptional({
    description: 'true: answer as a Server-Sent Events stream, exactly like POST /chat/sse.',
    default: false,
  })
  @IsOptional()
  @IsBoolean()
  stream?: boolean;

  @ApiPropertyOptional({
    description: `Ollama generation options for this request; they override the server settings. Known keys: ${Object.keys(OLLAMA_OPTIONS).join(', ')}.`,
    example: { temperature: 0.2, num_predict: 256 },
    type: 'object',
    additionalProperties: true,
  })
  @IsOptional()
  @Validate(OllamaOptionsConstraint)
  options?: Record<string, unknown>;
}
