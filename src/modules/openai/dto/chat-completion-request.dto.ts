import { ApiProperty, ApiPropertyOptional, getSchemaPath } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsNumber,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  Validate,
  ValidateNested,
  ValidationArguments,
  ValidatorConstraint,
  ValidatorConstraintInterface,
} from 'class-validator';
import { IsOptionalNotNull, OptionalNullable } from '../../../common/validation/optional';
import { MODEL_PATTERN } from '../../chat/dto/chat-request.dto';

/** `developer` is OpenAI's newer name for `system`; tool calling is not offered, so no `tool` role. */
export const MESSAGE_ROLES = ['system', 'developer', 'user', 'assistant'] as const;
export type MessageRole = (typeof MESSAGE_ROLES)[number];

export const MAX_MESSAGES = 1000;
const MAX_STOP_SEQUENCES = 4;

/** One part of an array `content`; only text parts are accepted. */
export class TextContentPartDto {
  @ApiProperty({ description: 'Only `text` is supported (no images, audio or files).', enum: ['text'], example: 'text' })
  type!: 'text';

  @ApiProperty({ description: 'The text of this part. Parts are joined with a newline.', example: 'Summarise this:' })
  text!: string;
}

export type MessageContent = string | TextContentPartDto[];

/** Why `content` is not a string or an array of text parts, or null when it is. */
export function contentProblem(value: unknown): string | null {
  if (typeof value === 'string') return null;
  if (!Array.isArray(value) || value.length === 0) return 'content must be a string or a non-empty array of text parts';
  for (const [index, part] of value.entries()) {
    if (part === null || typeof part !== 'object' || Array.isArray(part)) return `content.${index} must be an object`;
    const { type, text, ...rest } = part as Record<string, unknown>;
    if (type !== 'text') return `content.${index}.type must be "text": only text parts are supported (got ${JSON.stringify(type)})`;
    if (typeof text !== 'string') return `content.${index}.text must be a string`;
    const extra = Object.keys(rest)[0];
    if (extra !== undefined) return `content.${index}.${extra} is not supported in a text part`;
  }
  return null;
}

/** The text a message carries: the string itself, or its text parts joined with newlines. */
export function contentText(content: MessageContent): string {
  return typeof content === 'string' ? content : content.map((part) => part.text).join('\n');
}

@ValidatorConstraint({ name: 'messageContent' })
class MessageContentConstraint implements ValidatorConstraintInterface {
  validate(value: unknown): boolean {
    return contentProblem(value) === null;
  }

  defaultMessage(args: ValidationArguments): string {
    return contentProblem(args.value) ?? 'content is invalid';
  }
}

@ValidatorConstraint({ name: 'stopSequences' })
class StopConstraint implements ValidatorConstraintInterface {
  validate(value: unknown): boolean {
    const list = typeof value === 'string' ? [value] : value;
    return (
      Array.isArray(list) &&
      list.length <= MAX_STOP_SEQUENCES &&
      list.every((item) => typeof item === 'string' && item.length > 0 && item.length <= 200)
    );
  }

  defaultMessage(): string {
    return `stop must be a string or an array of at most ${MAX_STOP_SEQUENCES} non-empty strings (each at most 200 characters)`;
  }
}

@ValidatorConstraint({ name: 'hasUserMessage' })
class HasUserMessageConstraint implements ValidatorConstraintInterface {
  validate(value: unknown): boolean {
    return Array.isArray(value) && value.some((message) => (message as { role?: unknown } | null)?.role === 'user');
  }

  defaultMessage(): string {
    return 'messages must contain at least one message with role "user"';
  }
}

@ValidatorConstraint({ name: 'onlyWhenStreaming' })
class OnlyWhenStreamingConstraint implements ValidatorConstraintInterface {
  validate(_value: unknown, args: ValidationArguments): boolean {
    return (args.object as { stream?: unknown }).stream === true;
  }

  defaultMessage(args: ValidationArguments): string {
    return `${args.property} is only allowed when stream is true`;
  }
}

export class ChatCompletionMessageDto {
  @ApiProperty({
    description:
      'Who wrote the message. `developer` is treated as `system`. `tool` is refused: Vega does not offer tool calling.',
    enum: MESSAGE_ROLES,
    example: 'user',
  })
  @IsIn(MESSAGE_ROLES, { message: `role must be one of ${MESSAGE_ROLES.join(', ')} (tool calling is not supported)` })
  role!: MessageRole;

  @ApiProperty({
    description: 'The message text, or an array of text parts (joined with a newline). Image, audio and file parts are refused.',
    oneOf: [{ type: 'string' }, { type: 'array', items: { $ref: getSchemaPath(TextContentPartDto) } }],
    example: 'Explain what a circuit breaker does in two sentences.',
  })
  @Validate(MessageContentConstraint)
  content!: MessageContent;

  @ApiPropertyOptional({ description: 'A participant name. Accepted for compatibility and not sent to the model.', maxLength: 64 })
  @IsOptionalNotNull()
  @IsString()
  @MaxLength(64)
  name?: string;

  @ApiPropertyOptional({
    description: 'The `refusal` of an assistant message a client sends back as history; accepted and not sent to the model.',
    type: 'string',
    nullable: true,
  })
  @OptionalNullable()
  @IsString()
  @MaxLength(4000)
  refusal?: string | null;
}

export class StreamOptionsDto {
  @ApiPropertyOptional({
    description: 'true: one more chunk before `data: [DONE]` with `usage` for the whole request and an empty `choices`; the other chunks carry `usage: null`.',
    default: false,
  })
  @IsOptionalNotNull()
  @IsBoolean()
  include_usage?: boolean;
}

/** `POST /v1/chat/completions`: the subset of OpenAI's Chat Completions request that Vega honours. */
export class ChatCompletionRequestDto {
  @ApiProperty({ description: 'The model to use: a name from `GET /v1/models`.', example: 'mistral', maxLength: 200 })
  @IsString()
  @MaxLength(200)
  @Matches(MODEL_PATTERN, { message: 'model is not a valid model name' })
  model!: string;

  @ApiProperty({
    description: `The conversation so far, oldest first (at most ${MAX_MESSAGES} messages, at least one from the user). Sent to the model as given; Vega's system prompt is put first only when no system or developer message is present. The last user message is limited to MAX_PROMPT_CHARS characters (413 beyond).`,
    type: [ChatCompletionMessageDto],
  })
  @IsArray()
  @ArrayMinSize(1, { message: 'messages must contain at least one message' })
  @ArrayMaxSize(MAX_MESSAGES)
  @ValidateNested({ each: true })
  @Type(() => ChatCompletionMessageDto)
  @Validate(HasUserMessageConstraint)
  messages!: ChatCompletionMessageDto[];

  @ApiPropertyOptional({ description: 'true: stream the answer as Server-Sent Events (`chat.completion.chunk` frames, then `data: [DONE]`).', default: false, nullable: true })
  @OptionalNullable()
  @IsBoolean()
  stream?: boolean;

  @ApiPropertyOptional({ description: 'Streaming options; only allowed with `stream: true`.', type: StreamOptionsDto, nullable: true })
  @OptionalNullable()
  @Validate(OnlyWhenStreamingConstraint)
  @ValidateNested()
  @Type(() => StreamOptionsDto)
  stream_options?: StreamOptionsDto;

  @ApiPropertyOptional({ description: 'Sampling temperature (Ollama `temperature`). Default: the server setting.', minimum: 0, maximum: 2, example: 0.7, nullable: true })
  @OptionalNullable()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0)
  @Max(2)
  temperature?: number;

  @ApiPropertyOptional({ description: 'Nucleus sampling (Ollama `top_p`). Default: the server setting.', minimum: 0, maximum: 1, example: 0.9, nullable: true })
  @OptionalNullable()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0)
  @Max(1)
  top_p?: number;

  @ApiPropertyOptional({ description: 'Most tokens to generate (Ollama `num_predict`). Deprecated by OpenAI in favour of `max_completion_tokens`.', minimum: 1, example: 256, nullable: true })
  @OptionalNullable()
  @IsInt()
  @Min(1)
  max_tokens?: number;

  @ApiPropertyOptional({ description: 'Most tokens to generate (Ollama `num_predict`); wins over `max_tokens`.', minimum: 1, example: 256, nullable: true })
  @OptionalNullable()
  @IsInt()
  @Min(1)
  max_completion_tokens?: number;

  @ApiPropertyOptional({
    description: `Where to stop generating (Ollama \`stop\`): one string or up to ${MAX_STOP_SEQUENCES}; null is taken as not given.`,
    // OpenAPI 3.0: \`nullable\` needs a \`type\` beside it, so it goes on a branch (as OpenAI's own document does).
    oneOf: [{ type: 'string', nullable: true }, { type: 'array', items: { type: 'string' }, maxItems: MAX_STOP_SEQUENCES }],
    example: ['\n\n'],
  })
  @OptionalNullable()
  @Validate(StopConstraint)
  stop?: string | string[];

  @ApiPropertyOptional({ description: 'Seed for reproducible sampling (Ollama `seed`).', example: 42, nullable: true })
  @OptionalNullable()
  @IsInt()
  seed?: number;

  @ApiPropertyOptional({ description: 'Penalty for tokens already present (Ollama `presence_penalty`).', minimum: -2, maximum: 2, example: 0, nullable: true })
  @OptionalNullable()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(-2)
  @Max(2)
  presence_penalty?: number;

  @ApiPropertyOptional({ description: 'Penalty by token frequency (Ollama `frequency_penalty`).', minimum: -2, maximum: 2, example: 0, nullable: true })
  @OptionalNullable()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(-2)
  @Max(2)
  frequency_penalty?: number;

  @ApiPropertyOptional({ description: 'How many choices to generate. Only 1 is supported; anything else is refused with 400.', minimum: 1, maximum: 1, default: 1, nullable: true })
  @OptionalNullable()
  @IsInt()
  @Min(1, { message: 'n must be 1: Vega generates one choice per request' })
  @Max(1, { message: 'n must be 1: Vega generates one choice per request' })
  n?: number;

  @ApiPropertyOptional({ description: "An end-user identifier, as OpenAI's `user`. Accepted for compatibility; not stored.", maxLength: 256 })
  @IsOptionalNotNull()
  @IsString()
  @MaxLength(256)
  user?: string;
}
