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

/**
 * One model, as OpenAI's `GET /v1/models` describes it, with the fields Anthropic's model
 * object adds (`type`, `display_name`, `created_at`): the two SDKs share the route, and each
 * reads its own fields.
 */
export class OpenAiModelDto {
  @ApiProperty({ description: 'The model name, as `model` in a chat completion request.', example: 'mistral:latest' })
  id!: string;

  @ApiProperty({ description: 'Always `model`.', enum: ['model'], example: 'model' })
  object!: 'model';

  @ApiProperty({ description: 'When the backend last pulled or changed the model (Unix seconds; 0 when unknown).', example: 1748779200 })
  created!: number;

  @ApiProperty({ description: 'The backend that runs the model.', example: 'ollama' })
  owned_by!: string;

  @ApiProperty({ description: "Anthropic's field: always `model`.", enum: ['model'], example: 'model' })
  type!: 'model';

  @ApiProperty({ description: "Anthropic's field: the name to show (the model name).", example: 'mistral:latest' })
  display_name!: string;

  @ApiProperty({ description: "Anthropic's field: `created` as an RFC 3339 time (the Unix epoch when unknown).", example: '2025-06-01T12:00:00Z' })
  created_at!: string;

  @ApiPropertyOptional({
    description: "Vega's extra: what the model can do, as the backend reports it (Ollama `/api/show`); absent when it does not say.",
    example: ['completion', 'tools'],
    type: [String],
  })
  capabilities?: string[];

  @ApiPropertyOptional({ description: "Vega's extra: the context length (tokens) the model was trained for, when the backend reports it.", example: 32768 })
  context_length?: number;

  @ApiPropertyOptional({ description: "Vega's extra: for an alias (`BACKENDS_FILE` `aliases`), the model it stands for.", example: 'llama3.2:latest' })
  alias_of?: string;

  @ApiPropertyOptional({ description: "Vega's extra: the model servers that have it, by name (admin keys only).", example: ['gpu-1', 'gpu-2'], type: [String] })
  targets?: string[];
}

export class OpenAiModelListDto {
  @ApiProperty({ description: 'Always `list`.', enum: ['list'], example: 'list' })
  object!: 'list';

  @ApiProperty({ description: 'The catalogue of every model server (each model once) and the aliases, by name.', type: [OpenAiModelDto] })
  data!: OpenAiModelDto[];

  @ApiProperty({ description: "Anthropic's paging field: always false (the whole list is one page).", example: false })
  has_more!: false;

  @ApiProperty({ description: "Anthropic's paging field: the first model's id (null for an empty list).", example: 'llama3.2:latest', nullable: true, type: String })
  first_id!: string | null;

  @ApiProperty({ description: "Anthropic's paging field: the last model's id (null for an empty list).", example: 'mistral:latest', nullable: true, type: String })
  last_id!: string | null;
}
