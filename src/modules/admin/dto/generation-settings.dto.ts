import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsInt, IsNumber, Max, Min } from 'class-validator';
import { IsOptionalNotNull } from '../../../common/validation/optional';

/** The generation settings sent to the backend as Ollama `options` (the request's own options win). */
export class GenerationSettingsDto {
  @ApiProperty({ description: 'Sampling temperature, 0..2.', example: 0.7 })
  temperature!: number;

  @ApiProperty({ description: 'Nucleus sampling, 0..1.', example: 0.9 })
  top_p!: number;

  @ApiProperty({ description: 'Top-k sampling, 1..1000.', example: 40 })
  top_k!: number;

  @ApiProperty({ description: 'Repetition penalty, 0..2.', example: 1.1 })
  repeat_penalty!: number;

  @ApiProperty({ description: 'Presence penalty, -2..2.', example: 0 })
  presence_penalty!: number;

  @ApiProperty({ description: 'Frequency penalty, -2..2.', example: 0 })
  frequency_penalty!: number;

  @ApiProperty({ description: 'Adapt temperature/top_p to each prompt (GEN_DYNAMIC).', example: false })
  dynamic_generation!: boolean;
}

const range = (field: string, min: number, max: number) => ({ message: `${field} must be a number between ${min} and ${max}` });

/** Any subset of the settings; ranges as the GEN_* variables. */
export class UpdateGenerationRequestDto {
  @ApiPropertyOptional({ description: 'Sampling temperature, 0..2.', minimum: 0, maximum: 2, example: 0.4 })
  @IsOptionalNotNull()
  @IsNumber({ allowNaN: false, allowInfinity: false }, range('temperature', 0, 2))
  @Min(0, range('temperature', 0, 2))
  @Max(2, range('temperature', 0, 2))
  temperature?: number;

  @ApiPropertyOptional({ description: 'Nucleus sampling, 0..1.', minimum: 0, maximum: 1, example: 0.9 })
  @IsOptionalNotNull()
  @IsNumber({ allowNaN: false, allowInfinity: false }, range('top_p', 0, 1))
  @Min(0, range('top_p', 0, 1))
  @Max(1, range('top_p', 0, 1))
  top_p?: number;

  @ApiPropertyOptional({ description: 'Top-k sampling, an integer 1..1000.', minimum: 1, maximum: 1000, example: 40 })
  @IsOptionalNotNull()
  @IsInt({ message: 'top_k must be an integer between 1 and 1000' })
  @Min(1, { message: 'top_k must be an integer between 1 and 1000' })
  @Max(1000, { message: 'top_k must be an integer between 1 and 1000' })
  top_k?: number;

  @ApiPropertyOptional({ description: 'Repetition penalty, 0..2.', minimum: 0, maximum: 2, example: 1.1 })
  @IsOptionalNotNull()
  @IsNumber({ allowNaN: false, allowInfinity: false }, range('repeat_penalty', 0, 2))
  @Min(0, range('repeat_penalty', 0, 2))
  @Max(2, range('repeat_penalty', 0, 2))
  repeat_penalty?: number;

  @ApiPropertyOptional({ description: 'Presence penalty, -2..2.', minimum: -2, maximum: 2, example: 0 })
  @IsOptionalNotNull()
  @IsNumber({ allowNaN: false, allowInfinity: false }, range('presence_penalty', -2, 2))
  @Min(-2, range('presence_penalty', -2, 2))
  @Max(2, range('presence_penalty', -2, 2))
  presence_penalty?: number;

  @ApiPropertyOptional({ description: 'Frequency penalty, -2..2.', minimum: -2, maximum: 2, example: 0 })
  @IsOptionalNotNull()
  @IsNumber({ allowNaN: false, allowInfinity: false }, range('frequency_penalty', -2, 2))
  @Min(-2, range('frequency_penalty', -2, 2))
  @Max(2, range('frequency_penalty', -2, 2))
  frequency_penalty?: number;

  @ApiPropertyOptional({ description: 'Adapt temperature/top_p to each prompt.', example: true })
  @IsOptionalNotNull()
  @IsBoolean({ message: 'dynamic_generation must be true or false' })
  dynamic_generation?: boolean;
}
