import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  IsIn,
  IsInt,
  IsString,
  Matches,
  MaxLength,
  Min,
  Validate,
} from 'class-validator';
import { OptionalNullable } from '../../../common/validation/optional';
import { MODEL_PATTERN } from '../../chat/dto/chat-request.dto';
import { problemConstraint } from '../../../common/validation/problem-constraint';

/** OpenAI's limit on the inputs of one request. */
export const MAX_EMBEDDING_INPUTS = 2048;

/** OpenAI's `input`: one text, texts, or token ids (one list, or a list per input). */
export type EmbeddingInput = string | string[] | number[] | number[][];

const isTokenList = (value: unknown): value is number[] =>
  Array.isArray(value) && value.length > 0 && value.every((token) => Number.isInteger(token) && (token as number) >= 0);

/** Why `input` is not one of OpenAI's shapes, or null when it is. */
export function inputProblem(value: unknown): string | null {
  if (typeof value === 'string') return value === '' ? 'input must not be an empty string' : null;
  if (!Array.isArray(value)) return 'input must be a string, an array of strings, or an array of token arrays';
  if (value.length === 0) return 'input must not be an empty array';
  if (value.length > MAX_EMBEDDING_INPUTS) return `input must hold at most ${MAX_EMBEDDING_INPUTS} items (got ${value.length})`;
  if (value.every((item) => typeof item === 'number')) return isTokenList(value) ? null : 'input token ids must be non-negative integers';
  for (const [index, item] of value.entries()) {
    if (typeof item === 'string') {
      if (item === '') return `input.${index} must not be an empty string`;
    } else if (!isTokenList(item)) return `input.${index} must be a non-empty string or a non-empty array of token ids`;
  }
  const kinds = new Set(value.map((item) => typeof item));
  return kinds.size > 1 ? 'input must not mix strings and token arrays' : null;
}

const EmbeddingInputConstraint = problemConstraint('embeddingInput', (value) => inputProblem(value), 'input is invalid');

/** `POST /v1/embeddings`. */
export class CreateEmbeddingRequestDto {
  @ApiProperty({ description: 'The embedding model (e.g. `nomic-embed-text`).', example: 'nomic-embed-text' })
  @IsString()
  @MaxLength(200)
  @Matches(MODEL_PATTERN, { message: 'model is not a valid model name' })
  model!: string;

  @ApiProperty({
    description: `The text to embed, or up to ${MAX_EMBEDDING_INPUTS} texts (one vector each, in order). Token arrays (\`[1, 2]\`, \`[[1, 2]]\`) are refused with 400: Vega sends text only, and Ollama cannot take token ids.`,
    oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }],
    example: ['The quick brown fox', 'jumps over the lazy dog'],
  })
  @Validate(EmbeddingInputConstraint)
  input!: EmbeddingInput;

  @ApiPropertyOptional({
    description: '`float` (arrays of numbers, the default) or `base64` (each vector as the base64 of its little-endian float32 bytes, what the OpenAI SDKs ask for by default).',
    enum: ['float', 'base64'],
  })
  @OptionalNullable()
  @IsIn(['float', 'base64'], { message: 'encoding_format must be "float" or "base64"' })
  encoding_format?: 'float' | 'base64';

  @ApiPropertyOptional({ description: 'Shorten each vector to this many dimensions (the backend truncates and re-normalises).', minimum: 1, example: 256 })
  @OptionalNullable()
  @IsInt({ message: 'dimensions must be an integer' })
  @Min(1, { message: 'dimensions must be at least 1' })
  dimensions?: number;

  @ApiPropertyOptional({ description: "The end user's id: accepted and ignored." })
  @OptionalNullable()
  @IsString()
  @MaxLength(256)
  user?: string;
}

export class EmbeddingDto {
  @ApiProperty({ enum: ['embedding'], example: 'embedding' })
  object!: 'embedding';

  @ApiProperty({ description: 'The position of the input this vector belongs to.', example: 0 })
  index!: number;

  @ApiProperty({
    description: 'The vector: numbers, or with `encoding_format: "base64"` the base64 of its little-endian float32 bytes.',
    oneOf: [{ type: 'array', items: { type: 'number' } }, { type: 'string' }],
  })
  embedding!: number[] | string;
}

export class EmbeddingUsageDto {
  @ApiProperty({ description: 'Tokens the backend read (Ollama `prompt_eval_count`).', example: 8 })
  prompt_tokens!: number;

  @ApiProperty({ description: 'The same as `prompt_tokens`: embedding generates nothing.', example: 8 })
  total_tokens!: number;
}

export class CreateEmbeddingResponseDto {
  @ApiProperty({ enum: ['list'], example: 'list' })
  object!: 'list';

  @ApiProperty({ type: [EmbeddingDto] })
  data!: EmbeddingDto[];

  @ApiProperty({ example: 'nomic-embed-text' })
  model!: string;

  @ApiProperty({ type: EmbeddingUsageDto })
  usage!: EmbeddingUsageDto;
}
