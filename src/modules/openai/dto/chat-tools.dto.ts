import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  IsBoolean,
  IsIn,
  IsObject,
  IsString,
  Matches,
  MaxLength,
  Validate,
  ValidateNested,
  ValidationArguments,
  ValidatorConstraint,
  ValidatorConstraintInterface,
} from 'class-validator';
import { IsOptionalNotNull, OptionalNullable } from '../../../common/validation/optional';
import { FUNCTION_NAME_PATTERN } from './chat-message.dto';
import { problemConstraint } from '../../../common/validation/problem-constraint';

export const MAX_TOOLS = 128;

/** A JSON Schema for a function's arguments: an object, and of type object when it says its type. */
@ValidatorConstraint({ name: 'objectSchema' })
export class ObjectSchemaConstraint implements ValidatorConstraintInterface {
  validate(value: unknown): boolean {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
    const type = (value as { type?: unknown }).type;
    return type === undefined || type === 'object';
  }

  defaultMessage(args: ValidationArguments): string {
    return `${args.property} must be a JSON Schema object of type "object" (the function's arguments are an object)`;
  }
}

export class FunctionDefinitionDto {
  @ApiProperty({ description: 'The function name the model calls it by: 1 to 64 letters, digits, underscores or dashes.', example: 'get_weather', pattern: FUNCTION_NAME_PATTERN.source })
  @IsString()
  @Matches(FUNCTION_NAME_PATTERN, { message: 'name must be 1 to 64 letters, digits, underscores or dashes' })
  name!: string;

  @ApiPropertyOptional({ description: 'What the function does; the model reads it to decide when to call it.', example: 'The current weather in a city.', maxLength: 4000 })
  @IsOptionalNotNull()
  @IsString()
  @MaxLength(4000)
  description?: string;

  @ApiPropertyOptional({
    description: 'The arguments as a JSON Schema of type `object`, sent to Ollama as is. Absent: a function without arguments.',
    type: 'object',
    additionalProperties: true,
    example: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  })
  @IsOptionalNotNull()
  @Validate(ObjectSchemaConstraint)
  parameters?: Record<string, unknown>;

  @ApiPropertyOptional({
    description: "OpenAI's strict function calling; accepted and not sent (Ollama has no such switch). Vega always sends arguments that are a JSON object.",
    type: 'boolean',
    nullable: true,
  })
  @OptionalNullable()
  @IsBoolean()
  strict?: boolean;
}

/** One tool the model may call. */
export class ChatCompletionToolDto {
  @ApiProperty({ description: '`function`. Custom (free-text) tools are refused: Ollama has none.', enum: ['function'], example: 'function' })
  @IsIn(['function'], { message: 'type must be "function": custom tools are not supported (Ollama calls functions with JSON arguments only)' })
  type!: 'function';

  @ApiProperty({ type: FunctionDefinitionDto })
  @ValidateNested()
  @Type(() => FunctionDefinitionDto)
  function!: FunctionDefinitionDto;
}

/** `tools` as the request holds it, before validation has vouched for each entry. */
type LooseTools = { function?: { name?: unknown } }[] | undefined;

const CHOICE_MODES = ['auto', 'none', 'required'];

/** Why `tool_choice` is not acceptable, or null when it is. */
export function toolChoiceProblem(value: unknown, tools: LooseTools): string | null {
  const names = Array.isArray(tools) ? tools.map((tool) => tool?.function?.name) : [];
  if (typeof value === 'string') {
    if (!CHOICE_MODES.includes(value)) return `tool_choice must be one of ${CHOICE_MODES.join(', ')}, or {"type": "function", "function": {"name": …}}`;
    if (value !== 'none' && names.length === 0) return `tool_choice "${value}" needs tools`;
    return null;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return 'tool_choice must be a string or an object';
  const { type, function: fn, ...rest } = value as Record<string, unknown>;
  if (type !== 'function') {
    return `tool_choice.type must be "function" (got ${JSON.stringify(type)}; allowed_tools and custom tool choices are not supported)`;
  }
  const extra = Object.keys(rest)[0];
  if (extra !== undefined) return `tool_choice.${extra} is not supported`;
  const name = (fn as { name?: unknown } | null)?.name;
  if (fn === null || typeof fn !== 'object' || typeof name !== 'string') return 'tool_choice.function.name must be a string';
  if (!names.includes(name)) return `tool_choice.function.name "${name}" names no function in tools`;
  return null;
}

export const ToolChoiceConstraint = problemConstraint('toolChoice', (value, object) => toolChoiceProblem(value, (object as { tools?: LooseTools }).tools), 'tool_choice is invalid');

/** Two tools of one name would make a call ambiguous. */
@ValidatorConstraint({ name: 'uniqueToolNames' })
export class UniqueToolNamesConstraint implements ValidatorConstraintInterface {
  validate(value: unknown): boolean {
    return this.repeated(value) === undefined;
  }

  defaultMessage(args: ValidationArguments): string {
    const at = this.repeated(args.value);
    const flat = Array.isArray(args.value) && (args.value[at ?? 0] as { function?: unknown } | null)?.function === undefined;
    return `tools.${at}.${flat ? 'name' : 'function.name'} repeats the name of an earlier tool`;
  }

  /** Chat completions nest the name (`function.name`); the Responses API has flat tools (`name`). */
  private repeated(value: unknown): number | undefined {
    if (!Array.isArray(value)) return undefined;
    const seen = new Set<unknown>();
    for (const [index, tool] of value.entries()) {
      const loose = tool as { name?: unknown; function?: { name?: unknown } } | null;
      const name = loose?.function === undefined ? loose?.name : loose.function?.name;
      if (typeof name !== 'string') continue;
      if (seen.has(name)) return index;
      seen.add(name);
    }
    return undefined;
  }
}

export class JsonSchemaFormatDto {
  @ApiProperty({ description: 'A name for the schema: 1 to 64 letters, digits, underscores or dashes.', example: 'weather', pattern: FUNCTION_NAME_PATTERN.source })
  @IsString()
  @Matches(FUNCTION_NAME_PATTERN, { message: 'name must be 1 to 64 letters, digits, underscores or dashes' })
  name!: string;

  @ApiPropertyOptional({ description: 'What the answer is; not sent (Ollama takes the schema alone).', maxLength: 4000 })
  @IsOptionalNotNull()
  @IsString()
  @MaxLength(4000)
  description?: string;

  @ApiPropertyOptional({
    description: 'The JSON Schema the answer must follow, sent to Ollama as `format`. Absent: any JSON object (`format: "json"`).',
    type: 'object',
    additionalProperties: true,
    example: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  })
  @IsOptionalNotNull()
  @IsObject({ message: 'schema must be a JSON Schema object' })
  schema?: Record<string, unknown>;

  @ApiPropertyOptional({
    description:
      'true: Vega checks the finished answer against `schema` (with ajv) and, when it does not conform, answers 502 `invalid_model_output` (streaming: an error frame instead of the finish chunk) rather than hand on invalid JSON. The exchange is stored as `error`.',
    type: 'boolean',
    nullable: true,
  })
  @OptionalNullable()
  @IsBoolean()
  strict?: boolean;
}

@ValidatorConstraint({ name: 'jsonSchemaPresence' })
class JsonSchemaPresenceConstraint implements ValidatorConstraintInterface {
  validate(value: unknown, args: ValidationArguments): boolean {
    const type = (args.object as { type?: unknown }).type;
    return type === 'json_schema' ? value !== undefined && value !== null : value === undefined;
  }

  defaultMessage(args: ValidationArguments): string {
    const type = (args.object as { type?: unknown }).type;
    return type === 'json_schema' ? 'json_schema is required when type is "json_schema"' : 'json_schema is only allowed when type is "json_schema"';
  }
}

export const RESPONSE_FORMATS = ['text', 'json_object', 'json_schema'] as const;

export class ResponseFormatDto {
  @ApiProperty({
    description: '`text`: free text (the default); `json_object`: any JSON object (Ollama `format: "json"`); `json_schema`: JSON that follows `json_schema.schema` (Ollama `format: <schema>`).',
    enum: RESPONSE_FORMATS,
    example: 'json_schema',
  })
  @IsIn(RESPONSE_FORMATS, { message: `type must be one of ${RESPONSE_FORMATS.join(', ')}` })
  type!: (typeof RESPONSE_FORMATS)[number];

  @ApiPropertyOptional({ type: JsonSchemaFormatDto, description: 'Only with `type: "json_schema"` (required there).' })
  @Validate(JsonSchemaPresenceConstraint)
  @ValidateNested()
  @Type(() => JsonSchemaFormatDto)
  json_schema?: JsonSchemaFormatDto;
}
