import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsObject,
  IsString,
  Matches,
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
import { MAX_MESSAGES, REASONING_EFFORTS, type ReasoningEffort } from '../../openai/dto/chat-completion-request.dto';
import { FUNCTION_NAME_PATTERN } from '../../openai/dto/chat-message.dto';
import { MAX_TOOLS, ObjectSchemaConstraint, RESPONSE_FORMATS, UniqueToolNamesConstraint } from '../../openai/dto/chat-tools.dto';
import { OpenAiTemperature, OpenAiTopP } from '../../openai/dto/sampling-fields';
import { problemConstraint } from '../../../common/validation/problem-constraint';

/** `resp_` and the hex Vega makes ids of (other servers' ids are letters and digits too). */
export const RESPONSE_ID_PATTERN = /^resp_[A-Za-z0-9]{1,64}$/;

const BUILT_IN_REFUSAL =
  'type must be "function": built-in tools (web_search, file_search, code_interpreter, computer_use, image_generation, mcp, custom…) have no local equivalent behind Ollama';

/** One function the model may call: the Responses API's flat tool (`name` beside `type`, no `function` wrapper). */
export class ResponseFunctionToolDto {
  @ApiProperty({ description: '`function`. Built-in tools (web_search, file_search, code_interpreter, mcp, custom…) are refused: Ollama has none.', enum: ['function'], example: 'function' })
  @IsIn(['function'], { message: BUILT_IN_REFUSAL })
  type!: 'function';

  @ApiProperty({ description: 'The function name the model calls it by: 1 to 64 letters, digits, underscores or dashes.', example: 'get_weather', pattern: FUNCTION_NAME_PATTERN.source })
  @IsString()
  @Matches(FUNCTION_NAME_PATTERN, { message: 'name must be 1 to 64 letters, digits, underscores or dashes' })
  name!: string;

  @ApiPropertyOptional({ description: 'What the function does; the model reads it to decide when to call it.', maxLength: 4000, nullable: true })
  @OptionalNullable()
  @IsString()
  @MaxLength(4000)
  description?: string;

  @ApiPropertyOptional({
    description: 'The arguments as a JSON Schema of type `object`, sent to Ollama as is. Absent or null: a function without arguments.',
    type: 'object',
    additionalProperties: true,
    nullable: true,
    example: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  })
  @OptionalNullable()
  @Validate(ObjectSchemaConstraint)
  parameters?: Record<string, unknown>;

  @ApiPropertyOptional({ description: "OpenAI's strict function calling; accepted and not sent (Ollama has no such switch). Arguments are always a JSON object.", type: 'boolean', nullable: true })
  @OptionalNullable()
  @IsBoolean()
  strict?: boolean;
}

/** Why `tool_choice` is not acceptable (the Responses API's flat shape), or null when it is. */
export function responseToolChoiceProblem(value: unknown, tools: unknown): string | null {
  const names = Array.isArray(tools) ? tools.map((tool) => (tool as { name?: unknown } | null)?.name) : [];
  if (typeof value === 'string') {
    if (!['auto', 'none', 'required'].includes(value)) return 'tool_choice must be one of auto, none, required, or {"type": "function", "name": …}';
    if (value !== 'none' && names.length === 0) return `tool_choice "${value}" needs tools`;
    return null;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return 'tool_choice must be a string or an object';
  const { type, name, ...rest } = value as Record<string, unknown>;
  if (type !== 'function') {
    return `tool_choice.type must be "function" (got ${JSON.stringify(type)}; allowed_tools, built-in and custom tool choices are not supported)`;
  }
  const extra = Object.keys(rest)[0];
  if (extra !== undefined) return `tool_choice.${extra} is not supported`;
  if (typeof name !== 'string') return 'tool_choice.name must be a string';
  if (!names.includes(name)) return `tool_choice.name "${name}" names no function in tools`;
  return null;
}

const ResponseToolChoiceConstraint = problemConstraint(
  'responseToolChoice',
  (value, object) => responseToolChoiceProblem(value, (object as { tools?: unknown }).tools),
  'tool_choice is invalid',
);

/** `input`: a string (one user message) or a list of items; each item is checked where it is mapped, naming its path. */
@ValidatorConstraint({ name: 'responseInput' })
class ResponseInputConstraint implements ValidatorConstraintInterface {
  validate(value: unknown): boolean {
    return typeof value === 'string' || (Array.isArray(value) && value.length >= 1 && value.length <= MAX_MESSAGES);
  }

  defaultMessage(): string {
    return `input must be a string or an array of 1 to ${MAX_MESSAGES} input items`;
  }
}

/** `name` and `schema` belong to `json_schema` only. */
@ValidatorConstraint({ name: 'onlyForJsonSchema' })
class OnlyForJsonSchemaConstraint implements ValidatorConstraintInterface {
  validate(_value: unknown, args: ValidationArguments): boolean {
    return (args.object as { type?: unknown }).type === 'json_schema';
  }

  defaultMessage(args: ValidationArguments): string {
    return `${args.property} is only allowed when type is "json_schema"`;
  }
}

/** …and `json_schema` needs both. */
@ValidatorConstraint({ name: 'jsonSchemaFields' })
class JsonSchemaFieldsConstraint implements ValidatorConstraintInterface {
  private missing(object: object): string | undefined {
    const { type, name, schema } = object as { type?: unknown; name?: unknown; schema?: unknown };
    if (type !== 'json_schema') return undefined;
    return name === undefined || name === null ? 'name' : schema === undefined || schema === null ? 'schema' : undefined;
  }

  validate(_value: unknown, args: ValidationArguments): boolean {
    return this.missing(args.object) === undefined;
  }

  defaultMessage(args: ValidationArguments): string {
    return `${this.missing(args.object)} is required when type is "json_schema"`;
  }
}

/** `text.format`: free text, any JSON object, or JSON that follows a schema (flat, unlike chat's `json_schema` wrapper). */
export class ResponseTextFormatDto {
  @ApiProperty({
    description: '`text`: free text (the default); `json_object`: any JSON object (Ollama `format: "json"`); `json_schema`: JSON that follows `schema` (Ollama `format: <schema>`).',
    enum: RESPONSE_FORMATS,
    example: 'json_schema',
  })
  @IsIn(RESPONSE_FORMATS, { message: `type must be one of ${RESPONSE_FORMATS.join(', ')}` })
  @Validate(JsonSchemaFieldsConstraint)
  type!: (typeof RESPONSE_FORMATS)[number];

  @ApiPropertyOptional({ description: '`json_schema` only (required): a name for the schema, 1 to 64 letters, digits, underscores or dashes.', example: 'weather' })
  @IsOptionalNotNull()
  @Validate(OnlyForJsonSchemaConstraint)
  @IsString()
  @Matches(FUNCTION_NAME_PATTERN, { message: 'name must be 1 to 64 letters, digits, underscores or dashes' })
  name?: string;

  @ApiPropertyOptional({
    description: '`json_schema` only (required): the JSON Schema the answer must follow, sent to Ollama as `format`.',
    type: 'object',
    additionalProperties: true,
    example: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  })
  @IsOptionalNotNull()
  @Validate(OnlyForJsonSchemaConstraint)
  @IsObject({ message: 'schema must be a JSON Schema object' })
  schema?: Record<string, unknown>;

  @ApiPropertyOptional({ description: 'What the answer is; not sent (Ollama takes the schema alone).', maxLength: 4000 })
  @IsOptionalNotNull()
  @IsString()
  @MaxLength(4000)
  description?: string;

  @ApiPropertyOptional({
    description:
      'true: Vega checks the finished answer against `schema` (with ajv); one that does not conform fails the response (502 `invalid_model_output`, or an `error` event then `response.failed` when streaming) instead of handing on invalid JSON. The exchange is stored as `error`.',
    type: 'boolean',
    nullable: true,
  })
  @OptionalNullable()
  @IsBoolean()
  strict?: boolean;
}

export class ResponseTextConfigDto {
  @ApiPropertyOptional({ type: ResponseTextFormatDto, description: 'The shape of the answer. `verbosity` is refused: Ollama has no such setting.' })
  @IsOptionalNotNull()
  @ValidateNested()
  @Type(() => ResponseTextFormatDto)
  format?: ResponseTextFormatDto;
}

export const REASONING_SUMMARIES = ['auto', 'concise', 'detailed'] as const;

export class ResponseReasoningConfigDto {
  @ApiPropertyOptional({
    description: "How hard the model thinks, as Ollama's `think` (the same mapping as `reasoning_effort` of `/v1/chat/completions`): `none` → false, `minimal` → `low`, `low`/`medium`/`high` the same, `xhigh`/`max` → `max`. The model needs the `thinking` capability.",
    enum: REASONING_EFFORTS,
    nullable: true,
    example: 'low',
  })
  @OptionalNullable()
  @IsIn(REASONING_EFFORTS, { message: `reasoning.effort must be one of ${REASONING_EFFORTS.join(', ')}` })
  effort?: ReasoningEffort;

  @ApiPropertyOptional({
    description: "Accepted: the `reasoning` output item's summary is the model's own reasoning text as Ollama gives it (a local model writes no separate summary).",
    enum: REASONING_SUMMARIES,
    nullable: true,
  })
  @OptionalNullable()
  @IsIn(REASONING_SUMMARIES, { message: `reasoning.summary must be one of ${REASONING_SUMMARIES.join(', ')}` })
  summary?: (typeof REASONING_SUMMARIES)[number];
}

/** A message item of `input` (documentation only: items are checked where they are mapped). */
const INPUT_ITEM_SCHEMA = {
  type: 'object',
  description:
    'An input item: a message `{type?: "message", role: user|assistant|system|developer, content: string | [{type: input_text|output_text, text} | {type: input_image, image_url}]}`, a replayed call `{type: "function_call", call_id, name, arguments}`, its result `{type: "function_call_output", call_id, output}`, or `{type: "reasoning", summary: [{type: "summary_text", text}]}`.',
  additionalProperties: true,
  example: { role: 'user', content: [{ type: 'input_text', text: 'What is in this picture?' }, { type: 'input_image', image_url: 'data:image/png;base64,…' }] },
};

/** `POST /v1/responses`: the subset of OpenAI's Responses request that Vega honours. */
export class CreateResponseRequestDto {
  @ApiProperty({ description: 'The model to use: a name from `GET /v1/models`.', example: 'mistral', maxLength: 200 })
  @IsString()
  @MaxLength(200)
  @Matches(MODEL_PATTERN, { message: 'model is not a valid model name' })
  model!: string;

  @ApiProperty({
    description: `A string (one user message) or up to ${MAX_MESSAGES} input items, oldest first. Images (\`input_image\`) are data URLs or https URLs that Vega fetches; files and item references are refused. The last user message is limited to MAX_PROMPT_CHARS characters (413 beyond).`,
    oneOf: [{ type: 'string' }, { type: 'array', items: INPUT_ITEM_SCHEMA }],
    example: 'Explain what a circuit breaker does in two sentences.',
  })
  @Validate(ResponseInputConstraint)
  input!: string | unknown[];

  @ApiPropertyOptional({ description: 'A system message put first. Not carried over by `previous_response_id` (as with OpenAI: send it again). Absent: Vega\'s system prompt, unless the input holds a system or developer message.', nullable: true, maxLength: 200_000 })
  @OptionalNullable()
  @IsString()
  @MaxLength(200_000)
  instructions?: string;

  @ApiPropertyOptional({
    description: 'The id of a stored response to continue: its conversation (the messages it was asked, then its answer: text, reasoning and tool calls) comes before `input`. Unknown → 404 `previous_response_not_found`.',
    example: 'resp_6f1c2a9e0b7d4c3a5e8f9a1b',
    nullable: true,
  })
  @OptionalNullable()
  @IsString()
  @Matches(RESPONSE_ID_PATTERN, { message: 'previous_response_id must be a response id ("resp_…")' })
  previous_response_id?: string;

  @ApiPropertyOptional({ description: `Functions the model may call (at most ${MAX_TOOLS}), sent to Ollama as \`tools\`; the model needs the \`tools\` capability.`, type: [ResponseFunctionToolDto] })
  @IsOptionalNotNull()
  @IsArray()
  @ArrayMaxSize(MAX_TOOLS)
  @ValidateNested({ each: true })
  @Type(() => ResponseFunctionToolDto)
  @Validate(UniqueToolNamesConstraint)
  tools?: ResponseFunctionToolDto[];

  @ApiPropertyOptional({
    description:
      '`auto` (the default): the model decides; `none`: the tools are not sent; `required`: some call; `{"type": "function", "name": …}`: a call of that function. Ollama has no tool_choice: Vega makes `required` and a named function with `format`, so they cannot be combined with a `text.format` of json_object/json_schema (400).',
    oneOf: [
      { type: 'string', enum: ['auto', 'none', 'required'] },
      { type: 'object', properties: { type: { type: 'string', enum: ['function'] }, name: { type: 'string' } }, required: ['type', 'name'] },
    ],
    example: 'auto',
  })
  @IsOptionalNotNull()
  @Validate(ResponseToolChoiceConstraint)
  tool_choice?: 'auto' | 'none' | 'required' | { type: 'function'; name: string };

  @ApiPropertyOptional({ description: 'false: at most one tool call per answer. Default true.', default: true, nullable: true })
  @OptionalNullable()
  @IsBoolean()
  parallel_tool_calls?: boolean;

  @ApiPropertyOptional({ type: ResponseTextConfigDto, description: 'Output text settings: `format` only.' })
  @IsOptionalNotNull()
  @ValidateNested()
  @Type(() => ResponseTextConfigDto)
  text?: ResponseTextConfigDto;

  @ApiPropertyOptional({ type: ResponseReasoningConfigDto, description: 'Reasoning settings: `effort` (Ollama `think`) and `summary`; null is taken as not given.', nullable: true })
  @OptionalNullable()
  @ValidateNested()
  @Type(() => ResponseReasoningConfigDto)
  reasoning?: ResponseReasoningConfigDto;

  @ApiPropertyOptional({ description: 'Most tokens to generate, reasoning included (Ollama `num_predict`). Reaching it ends the response as `incomplete` (`max_output_tokens`).', minimum: 1, example: 256, nullable: true })
  @OptionalNullable()
  @IsInt()
  @Min(1)
  max_output_tokens?: number;

  @OpenAiTemperature()
  temperature?: number;

  @OpenAiTopP()
  top_p?: number;

  @ApiPropertyOptional({ description: 'true: stream the answer as Server-Sent Events (the Responses API events, each with `type` and `sequence_number`).', default: false, nullable: true })
  @OptionalNullable()
  @IsBoolean()
  stream?: boolean;

  @ApiPropertyOptional({
    description:
      'Accepted either way. Vega stores every exchange (the history is the product), so a response is always stored, retrievable and continuable: the response says `store: true`. Delete it with `DELETE /v1/responses/{id}`.',
    default: true,
    nullable: true,
  })
  @OptionalNullable()
  @IsBoolean()
  store?: boolean;

  @ApiPropertyOptional({ description: "An end-user identifier, as OpenAI's `user`. Accepted for compatibility; not stored.", maxLength: 256 })
  @IsOptionalNotNull()
  @IsString()
  @MaxLength(256)
  user?: string;
}
