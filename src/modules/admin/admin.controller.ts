import { Body, Controller, Get, HttpCode, Post } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AdminOnly } from '../../common/auth/scopes.decorator';
import { ApiErrors } from '../../common/errors/api-errors.decorator';
import { InvalidInputError } from '../../common/errors/app-errors';
import type { GenerationSettings } from '../../core/llm/generation-settings';
import { AdminService } from './admin.service';
import { AdminStatusDto, BreakerResetDto, CacheClearedDto } from './dto/admin-status.dto';
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

  private refuseEmpty(): never {
    throw new InvalidInputError(
      'give at least one of temperature, top_p, top_k, repeat_penalty, presence_penalty, frequency_penalty, dynamic_generation',
    );
  }
}
