import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsInt, IsString, Max, MaxLength, Min } from 'class-validator';
import { IsOptionalNotNull } from '../../../common/validation/optional';

export class FeedbackRequestDto {
  @ApiProperty({ description: 'The conversation to give feedback on.', example: 42, minimum: 1 })
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

  @ApiPropertyOptional({ description: 'Tags, free text (e.g. comma-separated).', maxLength: 500, example: 'accurate,concise' })
  @IsOptionalNotNull()
  @IsString()
  @MaxLength(500)
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
