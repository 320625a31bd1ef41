import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsString, Matches, MaxLength } from 'class-validator';
import { MODEL_PATTERN } from '../../chat/dto/chat-request.dto';

/** The path parameter of `GET /v1/models/{id}` (documented with `@ApiParam` on the route). */
export class ModelIdParamDto {
  @IsString()
  @MaxLength(200)
  @Matches(MODEL_PATTERN, { message: 'id is not a valid model name' })
  id!: string;
}

/** One model, as OpenAI's `GET /v1/models` describes it. */
export class OpenAiModelDto {
  @ApiProperty({ description: 'The model name, as `model` in a chat completion request.', example: 'mistral:latest' })
  id!: string;

  @ApiProperty({ description: 'Always `model`.', enum: ['model'], example: 'model' })
  object!: 'model';

  @ApiProperty({ description: 'When the backend last pulled or changed the model (Unix seconds; 0 when unknown).', example: 1748779200 })
  created!: number;

  @ApiProperty({ description: 'The backend that runs the model.', example: 'ollama' })
  owned_by!: string;

  @ApiPropertyOptional({
    description: "Vega's extra: what the model can do, as the backend reports it (Ollama `/api/show`); absent when it does not say.",
    example: ['completion', 'tools'],
    type: [String],
  })
  capabilities?: string[];

  @ApiPropertyOptional({ description: "Vega's extra: the context length (tokens) the model was trained for, when the backend reports it.", example: 32768 })
  context_length?: number;
}

export class OpenAiModelListDto {
  @ApiProperty({ description: 'Always `list`.', enum: ['list'], example: 'list' })
  object!: 'list';

  @ApiProperty({ description: "The backend's models, by name.", type: [OpenAiModelDto] })
  data!: OpenAiModelDto[];
}
