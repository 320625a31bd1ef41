import { ApiProperty } from '@nestjs/swagger';

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
}

export class OpenAiModelListDto {
  @ApiProperty({ description: 'Always `list`.', enum: ['list'], example: 'list' })
  object!: 'list';

  @ApiProperty({ description: "The backend's models, by name.", type: [OpenAiModelDto] })
  data!: OpenAiModelDto[];
}
