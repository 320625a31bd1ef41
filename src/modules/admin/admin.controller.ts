import { Body, Controller, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { AdminOnly } from '../../common/auth/scopes.decorator';
import { ApiErrors } from '../../common/errors/api-errors.decorator';
import { InvalidInputError } from '../../common/errors/app-errors';
import type { GenerationSettings } from '../../core/llm/generation-settings';
import { AdminService } from './admin.service';
import { AdminStatusDto, BreakerResetDto, CacheClearedDto } from './dto/admin-status.dto';
import { BackendDto, BackendListDto, BackendsReloadDto } from './dto/backends.dto';
import { GenerationSettingsDto, UpdateGenerationRequestDto } from './dto/generation-settings.dto';

function toSettingsDto(settings: GenerationSettings): GenerationSettingsDto {
  const { dynamic, ...rest } = settings;
  return { ...rest, dynamic_generation: dynamic };
}

@ApiTags('admin')
@AdminOnly()
@Controller('admin')
@ApiErrors(401, 429)
export class AdminController {
  constructor(private readonly admin: AdminService) {}

  @Get('gen')
  @ApiOperation({ summary: 'Current generation settings', description: 'The GEN_* defaults with the runtime changes applied.' })
  @ApiOkResponse({ type: GenerationSettingsDto })
  getGeneration(): GenerationSettingsDto {
    return toSettingsDto(this.admin.generation());
  }

  @Post('gen')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Change generation settings',
    description: 'Any subset; the others keep their value. Applies to the next requests, until reset or restart. Answers the new settings.',
  })
  @ApiOkResponse({ type: GenerationSettingsDto })
  @ApiErrors(400)
  setGeneration(@Body() body: UpdateGenerationRequestDto): GenerationSettingsDto {
    const { dynamic_generation: dynamic, ...rest } = body;
    if (dynamic === undefined && Object.values(rest).every((value) => value === undefined)) {
      // An empty body is almost always a client mistake; say what may be sent.
      return this.refuseEmpty();
    }
    return toSettingsDto(this.admin.updateGeneration({ ...rest, dynamic }));
  }

  @Post('gen/reset')
  @HttpCode(200)
  @ApiOperation({ summary: 'Reset generation settings to the GEN_* configuration' })
  @ApiOkResponse({ type: GenerationSettingsDto })
  resetGeneration(): GenerationSettingsDto {
    return toSettingsDto(this.admin.resetGeneration());
  }

  @Get('status')
  @ApiOperation({
    summary: 'Service status',
    description:
      'Version, uptime, backend and model, circuit breaker, answer cache, database size and row count, and the effective configuration with every secret redacted.',
  })
  @ApiOkResponse({ type: AdminStatusDto })
  status(): Promise<AdminStatusDto> {
    return this.admin.status();
  }

  @Post('cache/clear')
  @HttpCode(200)
  @ApiOperation({ summary: 'Empty the answer cache' })
  @ApiOkResponse({ type: CacheClearedDto })
  clearCache(): CacheClearedDto {
    return this.admin.clearCache();
  }

  @Post('breaker/reset')
  @HttpCode(200)
  @ApiOperation({ summary: 'Close the circuit breaker', description: 'Requests reach the backend again at once, without waiting for the half-open probe.' })
  @ApiOkResponse({ type: BreakerResetDto })
  resetBreaker(): BreakerResetDto {
    return this.admin.resetBreaker();
  }

  @Get('backends')
  @ApiOperation({
    summary: 'The model servers behind Vega',
    description:
      'Each target: kind, URL (credentials redacted), health from the background probe, its circuit breaker, requests in flight against its max concurrency, ' +
      'queued requests, loaded models, the models it serves, the median latency of its recent attempts, requests and errors since start, and whether it is draining.',
  })
  @ApiOkResponse({ type: BackendListDto })
  backends(): BackendListDto {
    return this.admin.backends();
  }

  @Post('backends/reload')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Reload BACKENDS_FILE',
    description:
      'Reads the file again, checks it whole and applies it: targets added, removed (what runs on them finishes) or changed; strategy, aliases and fallbacks. ' +
      'With REDIS_URL every other instance reads its own file again within a second. SIGHUP to a server without a terminal (systemd, containers) does the same. Without BACKENDS_FILE there is nothing to read: nothing changes and file is null.',
  })
  @ApiOkResponse({ type: BackendsReloadDto })
  @ApiErrors([409, 'The file has problems (each one named); the model servers in use stay as they were.'])
  reloadBackends(): BackendsReloadDto {
    return this.admin.reloadBackends();
  }

  @Post('backends/:name/drain')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Drain a model server',
    description:
      'For maintenance: nothing new is sent to it (requests go to the other targets that serve their model, or are refused 503 when none does); what runs on it finishes. ' +
      'Until resumed or restart. Answers its new status.',
  })
  @ApiParam({ name: 'name', description: 'The target name, as GET /admin/backends lists it (e.g. gpu-1, or 127.0.0.1:11434 from OLLAMA_URL).' })
  @ApiOkResponse({ type: BackendDto })
  @ApiErrors([404, 'No model server has that name.'])
  drain(@Param('name') name: string): BackendDto {
    return this.admin.drain(name);
  }

  @Post('backends/:name/resume')
  @HttpCode(200)
  @ApiOperation({ summary: 'Resume a drained model server', description: 'Requests are sent to it again. Answers its new status.' })
  @ApiParam({ name: 'name', description: 'The target name, as GET /admin/backends lists it (e.g. gpu-1, or 127.0.0.1:11434 from OLLAMA_URL).' })
  @ApiOkResponse({ type: BackendDto })
  @ApiErrors([404, 'No model server has that name.'])
  resume(@Param('name') name: string): BackendDto {
    return this.admin.resume(name);
  }

  private refuseEmpty(): never {
    throw new InvalidInputError(
      'give at least one of temperature, top_p, top_k, repeat_penalty, presence_penalty, frequency_penalty, dynamic_generation',
    );
  }
}
