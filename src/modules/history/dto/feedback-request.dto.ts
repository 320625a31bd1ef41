import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsBoolean, IsInt, IsString, Max, MaxLength, Min } from 'class-validator';
import { IsOptionalNotNull } from '../../../common/validation/optional';

const TAGS = { message: 'tags must be comma-separated text or an array of tags without commas, at most 500 characters in all' };

/** An array of tags as the API takes them: strings that do not hold the separator themselves. */
const isTagList = (value: unknown): value is string[] =>
  Array.isArray(value) && value.every((tag) => typeof tag === 'string' && !tag.includes(','));

export class FeedbackRequestDto {
  @ApiProperty({ description: 'The conversation to give feedback on (the `conversation_id` of an answer; 1 is the first one stored).', example: 1, minimum: 1 })
  @IsInt({ message: 'conversation_id must be a positive integer' })
  @Min(1, { message: 'conversation_id must be a positive integer' })
  @Max(Number.MAX_SAFE_INTEGER, { message: 'conversation_id must be a positive integer' })
  conversation_id!: number;

  @ApiPropertyOptional({ description: 'Rating 1 (bad) .. 5 (excellent).', minimum: 1, maximum: 5, example: 5 })
  @IsOptionalNotNull()
  @IsInt({ message: 'rating must be an integer between 1 and 5' })
  @Min(1, { message: 'rating must be an integer between 1 and 5' })
  @Max(5, { message: 'rating must be an integer between 1 and 5' })
  rating?: number;

  @ApiPropertyOptional({
    description: 'Tags: comma-separated text, or an array of tags (stored joined with commas), at most 500 characters in all.',
    oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }],
    example: 'accurate,concise',
  })
  @IsOptionalNotNull()
  @Transform(({ value }: { value: unknown }) => (isTagList(value) ? value.join(',') : value))
  @IsString(TAGS)
  @MaxLength(500, TAGS)
  tags?: string;

  @ApiPropertyOptional({ description: 'Notes.', maxLength: 4000, example: 'Cited the right RFC.' })
  @IsOptionalNotNull()
  @IsString()
  @MaxLength(4000)
  notes?: string;

  @ApiPropertyOptional({ description: 'Mark as reviewed by a human.', example: true })
  @IsOptionalNotNull()
  @IsBoolean()
  reviewed?: boolean;
}
