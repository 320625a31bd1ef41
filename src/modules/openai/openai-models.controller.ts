import { Controller, Get, Param, Res } from '@nestjs/common';
import { RequireScope } from '../../common/auth/scopes.decorator';
import { ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { ModelNotFoundError } from '../../common/errors/app-errors';
import { mapLimit } from '../../common/async/map-limit';
import { clientGoneSignal } from '../../common/http/client-gone';
import type { ModelDetails } from '../../core/llm/llm-backend';
import type { CatalogueEntry } from '../../core/llm/routing/model-catalogue';
import { LlmService } from '../../core/llm/llm.service';
import { ModelsService } from '../models/models.service';
import { ApiOpenAiErrors } from './dto/openai-error.dto';
import { ModelIdParamDto, OpenAiModelDto, OpenAiModelListDto } from './dto/openai-model.dto';

/** How long a list waits for the models' details before it answers without them. */
const DETAILS_WAIT_MS = 3_000;
/** `/api/show` calls in flight at once when the details are not cached yet. */
const DETAILS_CONCURRENCY = 4;

/**
 * `GET /v1/models` and `GET /v1/models/{id}`: the backend's models in OpenAI's shape and
 * Anthropic's at once (each SDK reads its own fields, so both list models on one route), plus what
 * the backend tells of each (capabilities, trained context length) as extra fields, which the
 * OpenAI SDKs keep and ignore. The details come from `LlmService.modelDetails`, cached for a minute.
 */
@ApiTags('openai')
@RequireScope('chat')
@Controller('v1/models')
export class OpenAiModelsController {
  constructor(
    private readonly models: ModelsService,
    private readonly llm: LlmService,
  ) {}

  @Get()
  @ApiOperation({
    summary: 'List models (OpenAI-compatible)',
    description:
      "The catalogue of every model server (Ollama `/api/tags`, `/v1/models`; each model once, aliases too with `alias_of`, and for admin keys the servers that have each, `targets`) as OpenAI's model list and Anthropic's at once (`type`, `display_name`, `created_at`, `has_more`, `first_id`, `last_id`; one page: Anthropic's `limit`/`after_id` are not needed), sorted by name, each with `capabilities` (`completion`, `embedding`, `tools`, `vision`, `thinking`, `insert`…) and `context_length` when the backend reports them (Ollama `/api/show`, cached for a minute).",
  })
  @ApiOkResponse({ type: OpenAiModelListDto })
  @ApiOpenAiErrors(401, 429, 502, 503, 504)
  async list(@Res({ passthrough: true }) reply: FastifyReply): Promise<OpenAiModelListDto> {
    const signal = clientGoneSignal(reply);
    const { models } = await this.models.list(signal);
    const details = await mapLimit(models, DETAILS_CONCURRENCY, (model) => this.detailsOf(model.aliasOf ?? model.name, signal));
    const targets = this.models.seesTargets();
    const data = models.map((model, index) => this.toDto(model, details[index], targets));
    return { object: 'list', data, has_more: false, first_id: data.at(0)?.id ?? null, last_id: data.at(-1)?.id ?? null };
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
    const signal = clientGoneSignal(reply);
    const { models } = await this.models.list(signal);
    const wanted = [params.id, `${params.id}:latest`];
    const model = wanted.map((name) => models.find((candidate) => candidate.name === name)).find(Boolean);
    if (!model) throw new ModelNotFoundError(`The model '${params.id}' does not exist on the backend`);
    return this.toDto(model, await this.detailsOf(model.aliasOf ?? model.name, signal), this.models.seesTargets());
  }

  /** The model's details, or nothing when the backend cannot tell in time: the list is answered anyway. */
  private detailsOf(name: string, client: AbortSignal): Promise<ModelDetails | undefined> {
    return this.llm.modelDetails(name, AbortSignal.any([client, AbortSignal.timeout(DETAILS_WAIT_MS)])).catch(() => undefined);
  }

  private toDto(model: CatalogueEntry, details: ModelDetails | undefined, targets: boolean): OpenAiModelDto {
    const modified = model.modifiedAt === undefined ? Number.NaN : Date.parse(model.modifiedAt);
    const created = Number.isFinite(modified) ? Math.floor(modified / 1000) : 0;
    return {
      id: model.name,
      object: 'model',
      created,
      owned_by: this.llm.backendKind,
      type: 'model',
      display_name: model.name,
      created_at: new Date(created * 1000).toISOString().replace('.000Z', 'Z'),
      ...(details?.capabilities ? { capabilities: details.capabilities } : {}),
      ...(details?.contextLength ? { context_length: details.contextLength } : {}),
      ...(model.aliasOf ? { alias_of: model.aliasOf } : {}),
      ...(targets ? { targets: model.targets } : {}),
    };
  }
}
