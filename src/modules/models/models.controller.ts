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
    description: 'Asks the model backend (Ollama `/api/tags`) which models it can run, sorted by name, with the default model.',
  })
  @ApiOkResponse({ type: ModelListResponseDto })
  @ApiErrors(401, 429, 502, 503, 504)
  async list(@Req() request: FastifyRequest): Promise<ModelListResponseDto> {
    const controller = new AbortController();
    request.raw.once('close', () => controller.abort());
    const { defaultModel, models } = await this.models.list(controller.signal);
    return {
      default_model: defaultModel,
      items: models.map((model) => ({
        name: model.name,
        size: model.size,
        modified_at: model.modifiedAt,
        family: model.family,
        parameter_size: model.parameterSize,
        quantization: model.quantization,
      })),
    };
  }
}
