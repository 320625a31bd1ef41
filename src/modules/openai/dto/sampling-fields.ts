import { applyDecorators } from '@nestjs/common';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsNumber, Max, Min } from 'class-validator';
import { OptionalNullable } from '../../../common/validation/optional';

/** OpenAI's `temperature` (0 to 2; null: not given), as chat completions, completions and Responses take it. */
export const OpenAiTemperature = () =>
  applyDecorators(
    ApiPropertyOptional({ description: 'Sampling temperature (Ollama `temperature`). Default: the server setting.', minimum: 0, maximum: 2, example: 0.7, nullable: true }),
    // Listed as they would be stacked on the property (which applies them bottom-up), so the
    // first failure reported is the same: `must be a number` before a range.
    Max(2),
    Min(0),
    IsNumber({ allowNaN: false, allowInfinity: false }),
    OptionalNullable(),
  );

/** OpenAI's `top_p` (0 to 1; null: not given), as chat completions, completions and Responses take it. */
export const OpenAiTopP = () =>
  applyDecorators(
    ApiPropertyOptional({ description: 'Nucleus sampling (Ollama `top_p`). Default: the server setting.', minimum: 0, maximum: 1, example: 0.9, nullable: true }),
    Max(1),
    Min(0),
    IsNumber({ allowNaN: false, allowInfinity: false }),
    OptionalNullable(),
  );
