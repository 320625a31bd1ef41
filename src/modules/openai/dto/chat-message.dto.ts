import { ApiProperty, ApiPropertyOptional, getSchemaPath } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsIn,
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

/** `developer` is OpenAI's newer name for `system`; `tool` carries a function's result back to the model. */
export const MESSAGE_ROLES = ['system', 'developer', 'user', 'assistant', 'tool'] as const;
export type MessageRole = (typeof MESSAGE_ROLES)[number];

/** OpenAI's rule for function names, which Ollama's tool parser also expects. */
export const FUNCTION_NAME_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
export const MAX_TOOL_CALLS_PER_MESSAGE = 128;

/** A text part of an array `content`. */
export class TextContentPartDto {
  @ApiProperty({ description: '`text`.', enum: ['text'], example: 'text' })
  type!: 'text';

  @ApiProperty({ description: 'The text of this part. The text parts of a message are joined with a newline.', example: 'Summarise this:' })
  text!: string;
}

export class ImageUrlDto {
  @ApiProperty({
    description:
      'A data URL (`data:image/png;base64,…`) or an `https://` URL, which Vega fetches (public addresses only, at most IMAGE_MAX_BYTES, within IMAGE_FETCH_TIMEOUT_SEC). PNG, JPEG, GIF and WebP, recognised from the bytes themselves.',
    example: 'data:image/png;base64,iVBORw0KGgo…',
  })
  url!: string;

  @ApiPropertyOptional({ description: "OpenAI's resolution hint; accepted and not used (Ollama has no equivalent).", enum: ['auto', 'low', 'high'] })
  detail?: 'auto' | 'low' | 'high';
}

/** An image part of a user message; the model must have the `vision` capability. */
export class ImageContentPartDto {
  @ApiProperty({ description: '`image_url`; only in `user` messages.', enum: ['image_url'], example: 'image_url' })
  type!: 'image_url';

  @ApiProperty({ type: ImageUrlDto, description: 'Where the image is.' })
  image_url!: ImageUrlDto;
}

export type ContentPart = TextContentPartDto | ImageContentPartDto;
export type MessageContent = string | ContentPart[];

const IMAGE_DETAILS = ['auto', 'low', 'high'];
const REFUSED_PARTS: Record<string, string> = {
  input_audio: 'audio input is not supported',
  file: 'file parts are not supported (send the text, or images as image_url parts)',
};

/**
 * Why a message's `content` is not acceptable for its role, or null when it is: a string or an
 * array of parts — text anywhere, `image_url` only from the user, `refusal` only in an
 * assistant turn — and null or absent only for an assistant turn that made tool calls.
 */
export function contentProblem(value: unknown, role: unknown, hasToolCalls: boolean): string | null {
  if (typeof value === 'string') return null;
  if (value === undefined || value === null) {
    if (role === 'assistant' && hasToolCalls) return null;
    return role === 'assistant' ? 'content is required unless the message has tool_calls' : 'content is required';
  }
  if (!Array.isArray(value) || value.length === 0) return 'content must be a string or a non-empty array of content parts';
  for (const [index, part] of value.entries()) {
    const problem = partProblem(part, role);
    if (problem) return `content.${index}${problem}`;
  }
  return null;
}

function partProblem(part: unknown, role: unknown): string | null {
  if (part === null || typeof part !== 'object' || Array.isArray(part)) return ' must be an object';
  const { type, ...rest } = part as Record<string, unknown>;
  if (type === 'text') return onlyKeys(rest, ['text']) ?? (typeof rest.text === 'string' ? null : '.text must be a string');
  if (type === 'image_url') {
    if (role !== 'user') return '.type image_url is only allowed in user messages';
    const extra = onlyKeys(rest, ['image_url']);
    if (extra) return extra;
    const image = rest.image_url as Record<string, unknown> | null;
    if (image === null || typeof image !== 'object' || Array.isArray(image)) return '.image_url must be an object';
    const inner = onlyKeys(image, ['url', 'detail']);
    if (inner) return `.image_url${inner}`;
    if (typeof image.url !== 'string' || image.url.length === 0) return '.image_url.url must be a non-empty string';
    if (image.detail !== undefined && !IMAGE_DETAILS.includes(image.detail as string)) return `.image_url.detail must be one of ${IMAGE_DETAILS.join(', ')}`;
    return null;
  }
  if (type === 'refusal' && role === 'assistant') return typeof rest.refusal === 'string' ? null : '.refusal must be a string';
  const refused = typeof type === 'string' && Object.hasOwn(REFUSED_PARTS, type) ? REFUSED_PARTS[type] : undefined;
  if (refused) return `.type ${type}: ${refused}`;
  return `.type must be "text"${role === 'user' ? ' or "image_url"' : ''} (got ${JSON.stringify(type)})`;
}

function onlyKeys(object: Record<string, unknown>, allowed: string[]): string | null {
  const extra = Object.keys(object).find((key) => !allowed.includes(key));
  return extra === undefined ? null : `.${extra} is not supported here`;
}

/** The text a message carries: the string itself, or its text parts joined with newlines. */
export function contentText(content: MessageContent | null | undefined): string {
  if (content === undefined || content === null) return '';
  if (typeof content === 'string') return content;
  return content
    .filter((part): part is TextContentPartDto => part.type === 'text')
    .map((part) => part.text)
    .join('\n');
}

@ValidatorConstraint({ name: 'messageContent' })
class MessageContentConstraint implements ValidatorConstraintInterface {
  validate(value: unknown, args: ValidationArguments): boolean {
    return this.problem(value, args) === null;
  }

  defaultMessage(args: ValidationArguments): string {
    return this.problem(args.value, args) ?? 'content is invalid';
  }

  private problem(value: unknown, args: ValidationArguments): string | null {
    const message = args.object as { role?: unknown; tool_calls?: unknown };
    return contentProblem(value, message.role, Array.isArray(message.tool_calls) && message.tool_calls.length > 0);
  }
}

/** A field that only one role may carry (`tool_calls` on assistant turns, `tool_call_id` on tool results). */
@ValidatorConstraint({ name: 'onlyForRole' })
class OnlyForRoleConstraint implements ValidatorConstraintInterface {
  validate(_value: unknown, args: ValidationArguments): boolean {
    return (args.object as { role?: unknown }).role === args.constraints[0];
  }

  defaultMessage(args: ValidationArguments): string {
    return `${args.property} is only allowed in ${args.constraints[0]} messages`;
  }
}

/** `tool_call_id` is what ties a tool result to the call it answers: required on `tool` messages. */
@ValidatorConstraint({ name: 'toolCallIdRequired' })
class ToolCallIdConstraint implements ValidatorConstraintInterface {
  validate(value: unknown, args: ValidationArguments): boolean {
    const role = (args.object as { role?: unknown }).role;
    if (role !== 'tool') return value === undefined;
    return typeof value === 'string' && value.length > 0 && value.length <= 200;
  }

  defaultMessage(args: ValidationArguments): string {
    const role = (args.object as { role?: unknown }).role;
    return role === 'tool' ? 'tool_call_id must be the id of the tool call this message answers (a string of 1 to 200 characters)' : 'tool_call_id is only allowed in tool messages';
  }
}

/** A JSON string whose value is an object: what a function call's `arguments` must be. */
@ValidatorConstraint({ name: 'jsonObjectString' })
class JsonObjectStringConstraint implements ValidatorConstraintInterface {
  validate(value: unknown): boolean {
    if (typeof value !== 'string') return false;
    try {
      const parsed: unknown = JSON.parse(value);
      return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed);
    } catch {
      return false;
    }
  }

  defaultMessage(args: ValidationArguments): string {
    return `${args.property} must be a string holding a JSON object (the function's arguments)`;
  }
}

export class ToolCallFunctionDto {
  @ApiProperty({ description: 'The function the model called.', example: 'get_weather', pattern: FUNCTION_NAME_PATTERN.source })
  @IsString()
  @Matches(FUNCTION_NAME_PATTERN, { message: 'name must be 1 to 64 letters, digits, underscores or dashes' })
  name!: string;

  @ApiProperty({
    description: 'The arguments as a JSON string holding an object (as OpenAI sends them); Vega parses it and sends the object to Ollama. Not JSON, or not an object: 400 naming this field.',
    example: '{"city":"Oslo"}',
  })
  @Validate(JsonObjectStringConstraint)
  @MaxLength(1_000_000)
  @IsString()
  arguments!: string;
}

/** A call an earlier assistant turn made, sent back as history. */
export class ToolCallDto {
  @ApiProperty({ description: "The call's id, as the model gave it; a later `tool` message names it in `tool_call_id`.", example: 'call_a1b2c3d4' })
  @IsString()
  @MaxLength(200)
  id!: string;

  @ApiProperty({ description: '`function` (custom tools are not supported).', enum: ['function'], example: 'function' })
  @IsIn(['function'], { message: 'type must be "function": custom tools are not supported' })
  type!: 'function';

  @ApiProperty({ type: ToolCallFunctionDto })
  @ValidateNested()
  @Type(() => ToolCallFunctionDto)
  function!: ToolCallFunctionDto;
}

export class ChatCompletionMessageDto {
  @ApiProperty({
    description:
      'Who wrote the message. `developer` is treated as `system`. `tool` is the result of a function call the assistant made (it needs `tool_call_id`).',
    enum: MESSAGE_ROLES,
    example: 'user',
  })
  @IsIn(MESSAGE_ROLES, { message: `role must be one of ${MESSAGE_ROLES.join(', ')}` })
  role!: MessageRole;

  @ApiPropertyOptional({
    description:
      'The message text, or an array of parts: `text` parts (joined with a newline), `image_url` parts in user messages (sent to the model as images; the model needs the `vision` capability), `refusal` parts in assistant messages (not sent). null or absent only in an assistant message with `tool_calls`. Audio and file parts are refused: Ollama takes neither.',
    oneOf: [
      { type: 'string', nullable: true },
      { type: 'array', items: { oneOf: [{ $ref: getSchemaPath(TextContentPartDto) }, { $ref: getSchemaPath(ImageContentPartDto) }] } },
    ],
    example: 'Explain what a circuit breaker does in two sentences.',
  })
  @Validate(MessageContentConstraint)
  content?: MessageContent | null;

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

  @ApiPropertyOptional({
    description: `Assistant messages only: the function calls that turn made (at most ${MAX_TOOL_CALLS_PER_MESSAGE}), sent to Ollama with their arguments as objects.`,
    type: [ToolCallDto],
  })
  @IsOptionalNotNull()
  @Validate(OnlyForRoleConstraint, ['assistant'])
  @IsArray()
  @ArrayMaxSize(MAX_TOOL_CALLS_PER_MESSAGE)
  @ValidateNested({ each: true })
  @Type(() => ToolCallDto)
  tool_calls?: ToolCallDto[];

  @ApiPropertyOptional({
    description:
      "Tool messages only (required there): the id of the assistant's tool call this result answers. Vega looks up the function's name from that call and sends both to Ollama (`tool_call_id`, `tool_name`); an id no earlier assistant message made is a 400.",
    example: 'call_a1b2c3d4',
  })
  @Validate(ToolCallIdConstraint)
  tool_call_id?: string;

  @ApiPropertyOptional({
    description:
      "Assistant messages only: the turn's reasoning, as the client received it (`reasoning`, Ollama's and OpenRouter's name). Sent back to the model as Ollama `thinking`.",
    type: 'string',
    nullable: true,
  })
  @OptionalNullable()
  @Validate(OnlyForRoleConstraint, ['assistant'])
  @IsString()
  @MaxLength(1_000_000)
  reasoning?: string;

  @ApiPropertyOptional({
    description: 'The same as `reasoning`, under the name DeepSeek, vLLM and LangChain use; when both are sent, `reasoning_content` wins.',
    type: 'string',
    nullable: true,
  })
  @OptionalNullable()
  @Validate(OnlyForRoleConstraint, ['assistant'])
  @IsString()
  @MaxLength(1_000_000)
  reasoning_content?: string;
}
