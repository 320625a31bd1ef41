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
  IsObject,
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
import { IsOptionalNotNull } from '../../../common/validation/optional';
import { MODEL_PATTERN } from '../../chat/dto/chat-request.dto';
import {
  contentProblem,
  ImageBlockDto,
  RedactedThinkingBlockDto,
  TextBlockDto,
  ThinkingBlockDto,
  ToolResultBlockDto,
  ToolUseBlockDto,
} from './content-blocks';
import { problemConstraint } from '../../../common/validation/problem-constraint';

export const MAX_MESSAGES = 1000;
export const MAX_TOOLS = 128;
export const MAX_STOP_SEQUENCES = 16;
const TOOL_NAME = /^[A-Za-z0-9_-]{1,128}$/;
/** Prompt caching only changes what Anthropic bills: accepted wherever Anthropic takes it, and ignored. */
export const CACHE_CONTROL_DOC = {
  description: 'Prompt caching: accepted and ignored (it only changes what Anthropic bills).',
  type: 'object',
  properties: { type: { type: 'string', enum: ['ephemeral'] }, ttl: { type: 'string', enum: ['5m', '1h'] } },
  example: { type: 'ephemeral' },
} as const;

const ContentConstraint = problemConstraint('anthropicContent', (value, object) => contentProblem(value, (object as { role?: unknown }).role), 'content is invalid');

/** `system`: a string or an array of text blocks. */
@ValidatorConstraint({ name: 'anthropicSystem' })
class SystemConstraint implements ValidatorConstraintInterface {
  validate(value: unknown): boolean {
    if (typeof value === 'string') return true;
    return (
      Array.isArray(value) &&
      value.every((block) => {
        if (block === null || typeof block !== 'object') return false;
        const { type, text, ...rest } = block as Record<string, unknown>;
        return type === 'text' && typeof text === 'string' && Object.keys(rest).every((key) => key === 'cache_control' || key === 'citations');
      })
    );
  }

  defaultMessage(): string {
    return 'system must be a string or an array of text blocks ({"type": "text", "text": …})';
  }
}

@ValidatorConstraint({ name: 'uniqueToolNames' })
class UniqueToolNamesConstraint implements ValidatorConstraintInterface {
  validate(value: unknown): boolean {
    if (!Array.isArray(value)) return true;
    const names = value.map((tool) => (tool as { name?: unknown } | null)?.name);
    return new Set(names).size === names.length;
  }

  defaultMessage(): string {
    return 'tools must have unique names';
  }
}

/** `tool_choice.name` is required exactly for `{"type": "tool"}`. */
@ValidatorConstraint({ name: 'toolChoiceName' })
class ToolChoiceNameConstraint implements ValidatorConstraintInterface {
  validate(value: unknown, args: ValidationArguments): boolean {
    const type = (args.object as { type?: unknown }).type;
    return type === 'tool' ? typeof value === 'string' && TOOL_NAME.test(value) : value === undefined;
  }

  defaultMessage(args: ValidationArguments): string {
    return (args.object as { type?: unknown }).type === 'tool' ? 'tool_choice.name must name one of the tools' : 'tool_choice.name is only allowed with type "tool"';
  }
}

/** `budget_tokens` belongs to `{"type": "enabled"}` only, and must leave room for the answer. */
@ValidatorConstraint({ name: 'thinkingBudget' })
class ThinkingBudgetConstraint implements ValidatorConstraintInterface {
  validate(value: unknown, args: ValidationArguments): boolean {
    const type = (args.object as { type?: unknown }).type;
    if (type !== 'enabled') return value === undefined;
    return Number.isInteger(value) && (value as number) >= 1024;
  }

  defaultMessage(args: ValidationArguments): string {
    return (args.object as { type?: unknown }).type === 'enabled'
      ? 'thinking.budget_tokens must be an integer of at least 1024'
      : 'thinking.budget_tokens is only allowed with type "enabled"';
  }
}

export class MessageParamDto {
  @ApiProperty({ description: 'Who wrote the message; the system prompt goes in `system`.', enum: ['user', 'assistant'], example: 'user' })
  @IsIn(['user', 'assistant'], { message: 'role must be one of user, assistant' })
  role!: 'user' | 'assistant';

  @ApiProperty({
    description:
      'A string (one text block) or content blocks: `text` anywhere; `image` (base64 or url source) and `tool_result` in user messages; `tool_use`, `thinking` and `redacted_thinking` in assistant messages. `document`, `search_result`, server-tool and MCP blocks are refused (400).',
    oneOf: [
      { type: 'string' },
      {
        type: 'array',
        items: {
          oneOf: [TextBlockDto, ImageBlockDto, ToolUseBlockDto, ToolResultBlockDto, ThinkingBlockDto, RedactedThinkingBlockDto].map((dto) => ({
            $ref: getSchemaPath(dto),
          })),
        },
      },
    ],
    example: 'Explain what a circuit breaker does in two sentences.',
  })
  @Validate(ContentConstraint)
  content!: string | Record<string, unknown>[];
}

export class ToolDto {
  @ApiProperty({ description: 'The function name: 1 to 128 letters, digits, underscores or dashes.', example: 'get_weather' })
  @IsString()
  @Matches(TOOL_NAME, { message: 'name must be 1 to 128 letters, digits, underscores or dashes' })
  name!: string;

  @ApiPropertyOptional({ description: 'What the tool does, for the model.', example: 'The current weather in a city.' })
  @IsOptionalNotNull()
  @IsString()
  @MaxLength(100_000)
  description?: string;

  @ApiProperty({ description: "A JSON Schema of type object: the tool's input (Ollama's `parameters`).", type: 'object', additionalProperties: true, example: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } })
  @IsObject()
  input_schema!: Record<string, unknown>;

  @ApiPropertyOptional({
    description: '`custom` (the default). Server tools (`web_search_…`, `bash_…`, `text_editor_…`, `code_execution_…`…) are refused: they run on Anthropic\'s servers.',
    enum: ['custom'],
  })
  @IsOptionalNotNull()
  @IsIn(['custom'], { message: "type must be \"custom\": server tools (web search, bash, text editor, code execution…) run on Anthropic's servers and Vega has none" })
  type?: 'custom';

  @ApiPropertyOptional(CACHE_CONTROL_DOC)
  @IsOptionalNotNull()
  @IsObject()
  cache_control?: Record<string, unknown>;
}

export class ToolChoiceDto {
  @ApiProperty({
    description: '`auto`: the model decides; `any`: some tool must be called; `tool`: the named one; `none`: no calls (the tools are not sent).',
    enum: ['auto', 'any', 'tool', 'none'],
  })
  @IsIn(['auto', 'any', 'tool', 'none'], { message: 'tool_choice.type must be one of auto, any, tool, none' })
  type!: 'auto' | 'any' | 'tool' | 'none';

  @ApiPropertyOptional({ description: 'With `tool`: the tool to call.', example: 'get_weather' })
  @Validate(ToolChoiceNameConstraint)
  name?: string;

  @ApiPropertyOptional({ description: 'true: at most one tool call per answer.' })
  @IsOptionalNotNull()
  @IsBoolean()
  disable_parallel_tool_use?: boolean;
}

export class ThinkingConfigDto {
  @ApiProperty({
    description:
      '`enabled`: Ollama `think: true`; `disabled`: `think: false`; `adaptive`: the model decides (no `think` sent). The model needs the `thinking` capability to think.',
    enum: ['enabled', 'disabled', 'adaptive'],
  })
  @IsIn(['enabled', 'disabled', 'adaptive'], { message: 'thinking.type must be one of enabled, disabled, adaptive' })
  type!: 'enabled' | 'disabled' | 'adaptive';

  @ApiPropertyOptional({
    description: 'With `enabled`: at least 1024 and below `max_tokens`, as Anthropic requires. Ollama cannot cap the thinking alone: the budget is checked, not enforced (`max_tokens` caps thinking and answer together).',
    minimum: 1024,
    example: 2048,
  })
  @Validate(ThinkingBudgetConstraint)
  budget_tokens?: number;
}

export class MetadataDto {
  @ApiPropertyOptional({ description: "An opaque id of the end user, as Anthropic's. Accepted for compatibility; not stored.", maxLength: 256 })
  @IsOptionalNotNull()
  @IsString()
  @MaxLength(256)
  user_id?: string;
}

/** `POST /v1/messages/count_tokens`: the parts of a Messages request that make up its prompt. */
export class CountMessageTokensRequestDto {
  @ApiProperty({ description: 'The model: a name from `GET /v1/models`.', example: 'mistral', maxLength: 200 })
  @IsString()
  @MaxLength(200)
  @Matches(MODEL_PATTERN, { message: 'model is not a valid model name' })
  model!: string;

  @ApiProperty({ description: `The conversation, oldest first (1 to ${MAX_MESSAGES} messages).`, type: [MessageParamDto] })
  @IsArray()
  @ArrayMinSize(1, { message: 'messages must contain at least one message' })
  @ArrayMaxSize(MAX_MESSAGES)
  @ValidateNested({ each: true })
  @Type(() => MessageParamDto)
  messages!: MessageParamDto[];

  @ApiPropertyOptional({
    description: "The system prompt: a string or text blocks (joined with a newline). Without one, Vega's own system prompt is used.",
    oneOf: [{ type: 'string' }, { type: 'array', items: { $ref: getSchemaPath(TextBlockDto) } }],
    example: 'Answer in one sentence.',
  })
  @IsOptionalNotNull()
  @Validate(SystemConstraint)
  system?: string | { type: 'text'; text: string }[];

  @ApiPropertyOptional({ description: `Client tools the model may call (at most ${MAX_TOOLS}), sent to Ollama as functions.`, type: [ToolDto] })
  @IsOptionalNotNull()
  @IsArray()
  @ArrayMaxSize(MAX_TOOLS)
  @ValidateNested({ each: true })
  @Type(() => ToolDto)
  @Validate(UniqueToolNamesConstraint)
  tools?: ToolDto[];

  @ApiPropertyOptional({
    type: ToolChoiceDto,
    description:
      "Ollama has no tool_choice: `none` leaves the tools out; `any` and `tool` constrain the answer with `format` to a JSON Schema of the allowed calls and turn it into the call (as on /v1/chat/completions).",
  })
  @IsOptionalNotNull()
  @ValidateNested()
  @Type(() => ToolChoiceDto)
  tool_choice?: ToolChoiceDto;

  @ApiPropertyOptional({ type: ThinkingConfigDto, description: "Extended thinking, as Ollama's `think`." })
  @IsOptionalNotNull()
  @ValidateNested()
  @Type(() => ThinkingConfigDto)
  thinking?: ThinkingConfigDto;
}

/** `POST /v1/messages`: the subset of Anthropic's Messages request that Vega honours. */
export class CreateMessageRequestDto extends CountMessageTokensRequestDto {
  @ApiProperty({ description: 'Most tokens to generate (Ollama `num_predict`); required, as Anthropic requires it.', minimum: 1, example: 1024 })
  @IsInt()
  @Min(1)
  max_tokens!: number;

  @ApiPropertyOptional({
    description: `Up to ${MAX_STOP_SEQUENCES} strings; the answer ends before the first one the model writes, with \`stop_reason: "stop_sequence"\` and \`stop_sequence\` naming it. Vega watches for them itself (Ollama would hide which one was hit).`,
    type: [String],
    example: ['\n\nHuman:'],
  })
  @IsOptionalNotNull()
  @IsArray()
  @ArrayMaxSize(MAX_STOP_SEQUENCES)
  @IsString({ each: true })
  @MaxLength(200, { each: true })
  @Matches(/[\s\S]/, { each: true, message: 'each stop sequence must be a non-empty string' })
  stop_sequences?: string[];

  @ApiPropertyOptional({ description: 'Sampling temperature (Ollama `temperature`), 0 to 1. Default: the server setting.', minimum: 0, maximum: 1, example: 0.7 })
  @IsOptionalNotNull()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0)
  @Max(1)
  temperature?: number;

  @ApiPropertyOptional({ description: 'Nucleus sampling (Ollama `top_p`).', minimum: 0, maximum: 1, example: 0.9 })
  @IsOptionalNotNull()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0)
  @Max(1)
  top_p?: number;

  @ApiPropertyOptional({ description: 'Sample from the k likeliest tokens only (Ollama `top_k`).', minimum: 0, example: 40 })
  @IsOptionalNotNull()
  @IsInt()
  @Min(0)
  top_k?: number;

  @ApiPropertyOptional({ type: MetadataDto, description: 'Request metadata; accepted for compatibility, not stored.' })
  @IsOptionalNotNull()
  @ValidateNested()
  @Type(() => MetadataDto)
  metadata?: MetadataDto;

  @ApiPropertyOptional({ description: "true: stream the answer as Anthropic's Server-Sent Events.", default: false })
  @IsOptionalNotNull()
  @IsBoolean()
  stream?: boolean;

  @ApiPropertyOptional(CACHE_CONTROL_DOC)
  @IsOptionalNotNull()
  @IsObject()
  cache_control?: Record<string, unknown>;
}
