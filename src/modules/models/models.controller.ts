import { Controller, Get, Req } from '@nestjs/common';
import { RequireScope } from '../../common/auth/scopes.decorator';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { ApiErrors } from '../../common/errors/api-errors.decorator';
import { ModelListResponseDto } from './dto/model-list.dto';
import { ModelsService } from './models.service';

@ApiTags('models')
@RequireScope('chat')
@Controller()
export class ModelsController {
  constructor(private readonly models: ModelsService) {}

  @Get('models')
  @ApiOperation({
    summary: "The backend's models",
    description:
      'The catalogue: every model server is asked which models it has (Ollama `/api/tags`, `/v1/models`); each model once, aliases too (`alias_of`), sorted by name, with the default model. For admin keys each model names the servers that have it (`targets`).',
  })
  @ApiOkResponse({ type: ModelListResponseDto })
  @ApiErrors(401, 429, 502, 503, 504)
  async list(@Req() request: FastifyRequest): Promise<ModelListResponseDto> {
    const controller = new AbortController();
    request.raw.once('close', () => controller.abort());
    const { defaultModel, models } = await this.models.list(controller.signal);
    const targets = this.models.seesTargets();
    return {
      default_model: defaultModel,
      items: models.map((model) => ({
        name: model.name,
        size: model.size,
        modified_at: model.modifiedAt,
        family: model.family,
        parameter_size: model.parameterSize,
        quantization: model.quantization,
        ...(model.aliasOf ? { alias_of: model.aliasOf } : {}),
        ...(targets ? { targets: model.targets } : {}),
      })),
    };
  }
}
