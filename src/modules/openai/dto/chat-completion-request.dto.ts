import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
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
import { ChatCompletionMessageDto } from './chat-message.dto';
import { ChatCompletionToolDto, MAX_TOOLS, ResponseFormatDto, ToolChoiceConstraint, UniqueToolNamesConstraint } from './chat-tools.dto';
import { OpenAiTemperature, OpenAiTopP } from './sampling-fields';

export const MAX_MESSAGES = 1000;
export const MAX_STOP_SEQUENCES = 4;
/** More concurrent generations than this would take the backend from everyone else for one request. */
export const MAX_CHOICES = 8;

/** OpenAI's `reasoning_effort` levels; see `thinkFor` for what each becomes in Ollama's `think`. */
export const REASONING_EFFORTS = ['none', 'minimal', 'low', 'medium', 'high', 'xhigh', 'max'] as const;
export type ReasoningEffort = (typeof REASONING_EFFORTS)[number];

@ValidatorConstraint({ name: 'stopSequences' })
export class StopConstraint implements ValidatorConstraintInterface {
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

/** `top_logprobs` means nothing without `logprobs: true` (OpenAI refuses it too). */
@ValidatorConstraint({ name: 'onlyWithLogprobs' })
class OnlyWithLogprobsConstraint implements ValidatorConstraintInterface {
  validate(_value: unknown, args: ValidationArguments): boolean {
    return (args.object as { logprobs?: unknown }).logprobs === true;
  }

  defaultMessage(): string {
    return 'top_logprobs is only allowed when logprobs is true';
  }
}

@ValidatorConstraint({ name: 'onlyWhenStreaming' })
export class OnlyWhenStreamingConstraint implements ValidatorConstraintInterface {
  validate(_value: unknown, args: ValidationArguments): boolean {
    return (args.object as { stream?: unknown }).stream === true;
  }

  defaultMessage(args: ValidationArguments): string {
    return `${args.property} is only allowed when stream is true`;
  }
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

  @OpenAiTemperature()
  temperature?: number;

  @OpenAiTopP()
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

  @ApiPropertyOptional({
    description: `How many choices to generate, 1 to ${MAX_CHOICES}: each is its own generation (run concurrently) and its own stored exchange, all with the completion's session id. Streaming interleaves their chunks, told apart by \`index\`; \`usage\` counts the prompt once and the completions of all.`,
    minimum: 1,
    maximum: MAX_CHOICES,
    default: 1,
    nullable: true,
  })
  @OptionalNullable()
  @IsInt()
  @Min(1)
  @Max(MAX_CHOICES, { message: `n must not be greater than ${MAX_CHOICES}: each choice is a generation of its own` })
  n?: number;

  @ApiPropertyOptional({
    description: `Functions the model may call (at most ${MAX_TOOLS}), sent to Ollama as \`tools\`. The model needs the \`tools\` capability (Ollama answers 400 otherwise, passed on as is).`,
    type: [ChatCompletionToolDto],
  })
  @IsOptionalNotNull()
  @IsArray()
  @ArrayMaxSize(MAX_TOOLS)
  @ValidateNested({ each: true })
  @Type(() => ChatCompletionToolDto)
  @Validate(UniqueToolNamesConstraint)
  tools?: ChatCompletionToolDto[];

  @ApiPropertyOptional({
    description:
      'Whether and which function the model must call. `auto` (the default with tools): the model decides. `none`: the tools are not sent at all. `required`: some call; `{"type": "function", "function": {"name": …}}`: a call of that function (it must be in `tools`). Ollama has no tool_choice: for `required` and a named function Vega constrains the answer with `format` to a JSON Schema of the allowed calls and turns the answer into the tool call, so those two cannot be combined with `response_format` json_object/json_schema (400). On an OpenAI-compatible backend the field is passed through.',
    oneOf: [
      { type: 'string', enum: ['auto', 'none', 'required'] },
      {
        type: 'object',
        properties: { type: { type: 'string', enum: ['function'] }, function: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] } },
        required: ['type', 'function'],
      },
    ],
    example: 'auto',
  })
  @IsOptionalNotNull()
  @Validate(ToolChoiceConstraint)
  tool_choice?: 'auto' | 'none' | 'required' | { type: 'function'; function: { name: string } };

  @ApiPropertyOptional({
    description: 'false: at most one tool call per answer (Vega keeps the first one the model made). Default true.',
    default: true,
  })
  @IsOptionalNotNull()
  @IsBoolean()
  parallel_tool_calls?: boolean;

  @ApiPropertyOptional({ type: ResponseFormatDto, description: 'The shape of the answer: text, any JSON object, or JSON that follows a schema (Ollama `format`).' })
  @IsOptionalNotNull()
  @ValidateNested()
  @Type(() => ResponseFormatDto)
  response_format?: ResponseFormatDto;

  @ApiPropertyOptional({
    description:
      "How hard the model thinks before answering, as Ollama's `think`: `none` → false (no thinking), `minimal` → `low`, `low`/`medium`/`high` the same, `xhigh`/`max` → `max`. The model needs the `thinking` capability. The reasoning comes back as `reasoning_content` and `reasoning` (both, for clients of either name) on the message or delta. Absent: the model's default.",
    enum: REASONING_EFFORTS,
    nullable: true,
    example: 'low',
  })
  @OptionalNullable()
  @IsIn(REASONING_EFFORTS, { message: `reasoning_effort must be one of ${REASONING_EFFORTS.join(', ')}` })
  reasoning_effort?: ReasoningEffort;

  @ApiPropertyOptional({ description: 'true: each answer token comes with its log probability (`choices[].logprobs.content`), as Ollama gives them.', default: false, nullable: true })
  @OptionalNullable()
  @IsBoolean()
  logprobs?: boolean;

  @ApiPropertyOptional({ description: 'With `logprobs`: how many of the most likely alternatives to give for each token (0 to 20).', minimum: 0, maximum: 20, nullable: true })
  @OptionalNullable()
  @Validate(OnlyWithLogprobsConstraint)
  @IsInt()
  @Min(0)
  @Max(20)
  top_logprobs?: number;

  @ApiPropertyOptional({ description: "An end-user identifier, as OpenAI's `user`. Accepted for compatibility; not stored.", maxLength: 256 })
  @IsOptionalNotNull()
  @IsString()
  @MaxLength(256)
  user?: string;
}
