import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

/** One model the backend can run. */
export class ModelDto {
  @ApiProperty({ description: 'The model name, as `model` in a chat request.', example: 'mistral:latest' })
  name!: string;

  @ApiPropertyOptional({ description: 'Size on disk in bytes.', example: 4113301824 })
  size?: number;

  @ApiPropertyOptional({ description: 'When the model was last pulled or changed (ISO 8601).', example: '2026-06-01T12:00:00Z' })
  modified_at?: string;

  @ApiPropertyOptional({ description: 'Model family.', example: 'llama' })
  family?: string;

  @ApiPropertyOptional({ description: 'Parameter count as the backend states it.', example: '7.2B' })
  parameter_size?: string;

  @ApiPropertyOptional({ description: 'Quantization level.', example: 'Q4_0' })
  quantization?: string;

  @ApiPropertyOptional({ description: 'For an alias (`BACKENDS_FILE` `aliases`): the model it stands for.', example: 'llama3.2:latest' })
  alias_of?: string;

  @ApiPropertyOptional({ description: 'The model servers that have it, by name (admin keys only).', example: ['gpu-1', 'gpu-2'], type: [String] })
  targets?: string[];
}

export class ModelListResponseDto {
  @ApiProperty({ description: 'The model used when a chat request names none (`MODEL_NAME`).', example: 'mistral' })
  default_model!: string;

  @ApiProperty({ description: 'The models the model servers list (each once) and the aliases, by name.', type: [ModelDto] })
  items!: ModelDto[];
}
