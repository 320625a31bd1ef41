import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsIn, IsString, Matches, MaxLength, MinLength, Validate } from 'class-validator';
import { IsOptionalNotNull } from '../../../common/validation/optional';
import { AcceptPlainWhen, isPlainObject } from '../../../common/validation/accept-plain';
import { OllamaOptionsConstraint, OLLAMA_OPTIONS } from './ollama-options.validator';
import { CHAT_MAX_IMAGES, ChatFormatConstraint, ChatImagesConstraint, ChatThinkConstraint, THINK_LEVELS } from './chat-fields.validator';

export const SESSION_ID_PATTERN = /^[A-Za-z0-9_-]+$/;
export const MODEL_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:/@+-]*$/;

/** Fields shared by `POST /chat`, `POST /chat/sse` and `GET /chat/sse`. */
export class ChatBaseDto {
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
      'Conversation to continue: the `session_id` of an earlier answer. Its last MEMORY_TURNS exchanges are sent to the model as history. A new 16-hex-character id is made when absent.',
    maxLength: 64,
    pattern: SESSION_ID_PATTERN.source,
  })
  @IsOptionalNotNull()
  @IsString()
  @MaxLength(64)
  @Matches(SESSION_ID_PATTERN, { message: 'session_id may only contain letters, digits, "_" and "-"' })
  session_id?: string;

  @ApiPropertyOptional({ description: 'Model to use instead of MODEL_NAME (a name from GET /models).', maxLength: 200 })
  @IsOptionalNotNull()
  @IsString()
  @MaxLength(200)
  @Matches(MODEL_PATTERN, { message: 'model is not a valid model name' })
  model?: string;
}

const THINK_DESCRIPTION =
  'Let a model that can reason (Ollama capability `thinking`) think before it answers: true/false, or an effort level. The reasoning streams as `event: thinking` frames and is returned as `thinking`; a model without the capability answers 400.';

/** `GET /chat/sse`: the shared fields, and `think`/`format` as query strings (images need a body). */
export class ChatQueryDto extends ChatBaseDto {
  @ApiPropertyOptional({ description: THINK_DESCRIPTION, enum: ['true', 'false', ...THINK_LEVELS] })
  @IsOptionalNotNull()
  @IsIn(['true', 'false', ...THINK_LEVELS], { message: `think must be true, false, or one of ${THINK_LEVELS.join(', ')}` })
  think?: string;

  @ApiPropertyOptional({ description: '`json`: the answer is a JSON value (a schema needs POST).', enum: ['json'] })
  @IsOptionalNotNull()
  @IsIn(['json'], { message: 'format must be "json" (send a JSON Schema in a POST body)' })
  format?: string;
}

/**
 * The common chat body — a prompt, perhaps a session id, a model and `stream` — checked without
 * class-validator: the same rules as the decorators, on plain strings and booleans. Anything
 * else (`options`, `null`s, other types, unknown fields) goes through the full validation.
 * A unit test holds it to the decorators on generated bodies.
 */
export function isPlainChatRequest(value: unknown): boolean {
  if (!isPlainObject(value)) return false;
  let prompt = false;
  for (const key in value) {
    const field = value[key];
    switch (key) {
      case 'prompt':
        if (typeof field !== 'string' || field.length === 0) return false;
        prompt = true;
        break;
      case 'session_id':
        // Both patterns are ASCII-only, so `length` counts characters as MaxLength does.
        if (typeof field !== 'string' || field.length > 64 || !SESSION_ID_PATTERN.test(field)) return false;
        break;
      case 'model':
        if (typeof field !== 'string' || field.length > 200 || !MODEL_PATTERN.test(field)) return false;
        break;
      case 'stream':
        if (typeof field !== 'boolean') return false;
        break;
      default:
        return false;
    }
  }
  return prompt;
}

@AcceptPlainWhen(isPlainChatRequest)
export class ChatRequestDto extends ChatBaseDto {
  @ApiPropertyOptional({
    description: 'true: answer as a Server-Sent Events stream, exactly like POST /chat/sse.',
    default: false,
  })
  @IsOptionalNotNull()
  @IsBoolean()
  stream?: boolean;

  @ApiPropertyOptional({
    description: `Ollama generation options for this request; they override the server settings. Known keys: ${Object.keys(OLLAMA_OPTIONS).join(', ')}.`,
    example: { temperature: 0.2, num_predict: 256 },
    type: 'object',
    additionalProperties: true,
  })
  @IsOptionalNotNull()
  @Validate(OllamaOptionsConstraint)
  options?: Record<string, unknown>;

  @ApiPropertyOptional({
    description: `Images for the model to look at with this prompt (a model with the \`vision\` capability): at most ${CHAT_MAX_IMAGES}, each a data URL (\`data:image/png;base64,…\`) or bare base64 of a PNG, JPEG, GIF or WebP file, at most IMAGE_MAX_BYTES (default 10 MiB) decoded. URLs are not fetched. Images go with this turn only: session memory replays the earlier turns' text.`,
    type: [String],
    maxItems: CHAT_MAX_IMAGES,
    example: ['data:image/png;base64,iVBORw0KGgo…'],
  })
  @IsOptionalNotNull()
  @Validate(ChatImagesConstraint)
  images?: string[];

  @ApiPropertyOptional({
    description: 'Constrain the answer: `"json"` for any JSON value, or a JSON Schema object the answer must match (Ollama structured outputs).',
    oneOf: [{ type: 'string', enum: ['json'] }, { type: 'object', additionalProperties: true }],
    example: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  })
  @IsOptionalNotNull()
  @Validate(ChatFormatConstraint)
  format?: 'json' | Record<string, unknown>;

  @ApiPropertyOptional({
    description: THINK_DESCRIPTION,
    oneOf: [{ type: 'boolean' }, { type: 'string', enum: [...THINK_LEVELS] }],
    example: true,
  })
  @IsOptionalNotNull()
  @Validate(ChatThinkConstraint)
  think?: boolean | (typeof THINK_LEVELS)[number];
}
