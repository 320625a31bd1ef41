import { Controller, Get, Param, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { ModelNotFoundError } from '../../common/errors/app-errors';
import { clientGoneSignal } from '../../common/http/client-gone';
import type { BackendModel } from '../../core/llm/llm-backend';
import { LlmService } from '../../core/llm/llm.service';
import { ModelsService } from '../models/models.service';
import { ApiOpenAiErrors } from './dto/openai-error.dto';
import { ModelIdParamDto, OpenAiModelDto, OpenAiModelListDto } from './dto/openai-model.dto';

/** `GET /v1/models` and `GET /v1/models/{id}`: the backend's models in OpenAI's shape. */
@ApiTags('openai')
@Controller('v1/models')
export class OpenAiModelsController {
  constructor(
    private readonly models: ModelsService,
    private readonly llm: LlmService,
  ) {}

  @Get()
  @ApiOperation({
    summary: 'List models (OpenAI-compatible)',
    description: "The backend's models (Ollama `/api/tags`) as OpenAI's model list, sorted by name.",
  })
  @ApiOkResponse({ type: OpenAiModelListDto })
  @ApiOpenAiErrors(401, 429, 502, 503, 504)
  async list(@Res({ passthrough: true }) reply: FastifyReply): Promise<OpenAiModelListDto> {
    const { models } = await this.models.list(clientGoneSignal(reply));
    return { object: 'list', data: models.map((model) => this.toDto(model)) };
  }

  @Get(':id')
  @ApiOperation({
    summary: 'One model (OpenAI-compatible)',
    description: 'The model of that name, as in the list; `mistral` also finds `mistral:latest`, as Ollama does.',
  })
  @ApiParam({ name: 'id', type: String, description: 'The model name (URL-encoded when it holds a "/").', example: 'mistral' })
  @ApiOkResponse({ type: OpenAiModelDto })
  @ApiOpenAiErrors(400, 401, 404, 429, 502, 503, 504)
  async retrieve(@Param() params: ModelIdParamDto, @Res({ passthrough: true }) reply: FastifyReply): Promise<OpenAiModelDto> {
    const { models } = await this.models.list(clientGoneSignal(reply));
    const wanted = [params.id, `${params.id}:latest`];
    const model = wanted.map((name) => models.find((candidate) => candidate.name === name)).find(Boolean);
    if (!model) throw new ModelNotFoundError(`The model '${params.id}' does not exist on the backend`);
    return this.toDto(model);
  }

  private toDto(model: BackendModel): OpenAiModelDto {
    const modified = model.modifiedAt === undefined ? Number.NaN : Date.parse(model.modifiedAt);
    return {
      id: model.name,
      object: 'model',
      created: Number.isFinite(modified) ? Math.floor(modified / 1000) : 0,
      owned_by: this.llm.backend.kind,
    };
  }
}
