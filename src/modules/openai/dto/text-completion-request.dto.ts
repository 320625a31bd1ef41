import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  IsBoolean,
  IsInt,
  IsNumber,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  Validate,
  ValidateNested,
} from 'class-validator';
import { IsOptionalNotNull, OptionalNullable } from '../../../common/validation/optional';
import { MODEL_PATTERN } from '../../chat/dto/chat-request.dto';
import { MAX_STOP_SEQUENCES, OnlyWhenStreamingConstraint, StopConstraint, StreamOptionsDto } from './chat-completion-request.dto';
import { OpenAiTemperature, OpenAiTopP } from './sampling-fields';
import { problemConstraint } from '../../../common/validation/problem-constraint';

/** OpenAI's bound on `logprobs` of a legacy completion. */
export const MAX_COMPLETION_LOGPROBS = 5;

/**
 * Why `prompt` cannot be run, or null. One prompt per request: OpenAI's array forms (several
 * prompts, token ids) would need several generations or the model's tokenizer.
 */
export function promptProblem(value: unknown): string | null {
  const prompt = Array.isArray(value) && value.length === 1 ? value[0] : value;
  if (typeof prompt === 'string') return prompt === '' ? 'prompt must not be empty' : null;
  if (!Array.isArray(value)) return 'prompt must be a string';
  if (value.length === 0) return 'prompt must not be an empty array';
  if (value.every((item) => typeof item === 'number') || value.every((item) => Array.isArray(item))) {
    return 'prompt: token arrays are not supported (Vega sends text only); send the text instead';
  }
  return `prompt: only one prompt per request is supported (got ${value.length})`;
}

const PromptConstraint = problemConstraint('completionPrompt', (value) => promptProblem(value), 'prompt is invalid');

const ONE_CHOICE = (field: string) => `${field} must be 1: Vega generates one completion per request`;

/** `POST /v1/completions`: OpenAI's legacy completions, one prompt per request. */
export class CreateCompletionRequestDto {
  @ApiProperty({ description: 'The model to use: a name from `GET /v1/models`.', example: 'mistral', maxLength: 200 })
  @IsString()
  @MaxLength(200)
  @Matches(MODEL_PATTERN, { message: 'model is not a valid model name' })
  model!: string;

  @ApiProperty({
    description:
      'The text to continue (sent without a chat template, as Ollama `/api/generate` does), or an array holding that one text. Several prompts and token arrays are refused with 400. Limited to MAX_PROMPT_CHARS characters (413 beyond).',
    oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' }, minItems: 1, maxItems: 1 }],
    example: 'Once upon a time',
  })
  @Validate(PromptConstraint)
  prompt!: string | string[];

  @ApiPropertyOptional({ description: 'Text after the insertion point: fill in the middle (models with the `insert` capability).', nullable: true })
  @OptionalNullable()
  @IsString()
  suffix?: string;

  @ApiPropertyOptional({ description: 'Most tokens to generate (Ollama `num_predict`). Absent: until the model stops (OpenAI would stop at 16).', minimum: 1, example: 64, nullable: true })
  @OptionalNullable()
  @IsInt()
  @Min(1)
  max_tokens?: number;

  @OpenAiTemperature()
  temperature?: number;

  @OpenAiTopP()
  top_p?: number;

  @ApiPropertyOptional({
    description: `Where to stop generating (Ollama \`stop\`): one string or up to ${MAX_STOP_SEQUENCES}.`,
    oneOf: [{ type: 'string', nullable: true }, { type: 'array', items: { type: 'string' }, maxItems: MAX_STOP_SEQUENCES }],
  })
  @OptionalNullable()
  @Validate(StopConstraint)
  stop?: string | string[];

  @ApiPropertyOptional({ description: 'Seed for reproducible sampling (Ollama `seed`).', nullable: true })
  @OptionalNullable()
  @IsInt()
  seed?: number;

  @ApiPropertyOptional({ description: 'Penalty for tokens already present (Ollama `presence_penalty`).', minimum: -2, maximum: 2, nullable: true })
  @OptionalNullable()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(-2)
  @Max(2)
  presence_penalty?: number;

  @ApiPropertyOptional({ description: 'Penalty by token frequency (Ollama `frequency_penalty`).', minimum: -2, maximum: 2, nullable: true })
  @OptionalNullable()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(-2)
  @Max(2)
  frequency_penalty?: number;

  @ApiPropertyOptional({ description: 'true: stream `text_completion` chunks as Server-Sent Events, then `data: [DONE]`.', default: false, nullable: true })
  @OptionalNullable()
  @IsBoolean()
  stream?: boolean;

  @ApiPropertyOptional({ description: 'Streaming options; only allowed with `stream: true`.', type: StreamOptionsDto, nullable: true })
  @OptionalNullable()
  @Validate(OnlyWhenStreamingConstraint)
  @ValidateNested()
  @Type(() => StreamOptionsDto)
  stream_options?: StreamOptionsDto;

  @ApiPropertyOptional({ description: 'true: the prompt is put before the generated text in `text` (not with `logprobs`: the backend gives none for the prompt).', default: false, nullable: true })
  @OptionalNullable()
  @IsBoolean()
  echo?: boolean;

  @ApiPropertyOptional({
    description: `Log probabilities of the generated tokens and of the N most likely alternatives at each (0–${MAX_COMPLETION_LOGPROBS}; Ollama \`logprobs\` and \`top_logprobs\`).`,
    minimum: 0,
    maximum: MAX_COMPLETION_LOGPROBS,
    nullable: true,
  })
  @OptionalNullable()
  @IsInt()
  @Min(0)
  @Max(MAX_COMPLETION_LOGPROBS)
  logprobs?: number;

  @ApiPropertyOptional({ description: 'Only 1 is supported.', minimum: 1, maximum: 1, default: 1, nullable: true })
  @OptionalNullable()
  @IsInt()
  @Min(1, { message: ONE_CHOICE('n') })
  @Max(1, { message: ONE_CHOICE('n') })
  n?: number;

  @ApiPropertyOptional({ description: 'Only 1 is supported.', minimum: 1, maximum: 1, default: 1, nullable: true })
  @OptionalNullable()
  @IsInt()
  @Min(1, { message: ONE_CHOICE('best_of') })
  @Max(1, { message: ONE_CHOICE('best_of') })
  best_of?: number;

  @ApiPropertyOptional({ description: "An end-user identifier, as OpenAI's `user`. Accepted; not stored.", maxLength: 256 })
  @IsOptionalNotNull()
  @IsString()
  @MaxLength(256)
  user?: string;
}
