import { Body, Controller, Get, HttpCode, Param, Patch, Post, Query, Req } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import type { AuthenticatedRequest } from '../../common/auth/api-key.guard';
import { AdminOnly } from '../../common/auth/scopes.decorator';
import { ApiErrors } from '../../common/errors/api-errors.decorator';
import { ApiKeysService, type IssuedKey } from './api-keys.service';
import {
  ApiKeyDto,
  ApiKeyListDto,
  CreateApiKeyRequestDto,
  IssuedApiKeyDto,
  ListApiKeysQueryDto,
  toApiKeyDto,
  UpdateApiKeyRequestDto,
} from './dto/api-key.dto';

const KEY_PARAM = { name: 'id', description: 'The key id (`key_…`) or its name.', example: 'alice-laptop' };

/** Managed keys (`/admin/keys`); `vega keys` does the same on the database. */
@ApiTags('admin')
@AdminOnly()
@Controller('admin/keys')
@ApiErrors(400, 401, 429)
export class KeysController {
  constructor(private readonly keys: ApiKeysService) {}

  @Post()
  @ApiOperation({
    summary: 'Create a managed key',
    description:
      'The answer holds the secret (`vk-…`), shown this once: only its SHA-256 digest is stored. The change is written to the audit log (the key id, never the secret).',
  })
  @ApiCreatedResponse({ type: IssuedApiKeyDto })
  @ApiErrors(409)
  async create(@Body() body: CreateApiKeyRequestDto, @Req() request: AuthenticatedRequest): Promise<IssuedApiKeyDto> {
    return issued(await this.keys.create({ ...body, expiresAt: body.expires_at }, actor(request)));
  }

  @Get()
  @ApiOperation({ summary: 'List the managed keys', description: "Oldest first; revoked keys with `include_revoked=true`. The environment's keys are configuration and not listed." })
  @ApiOkResponse({ type: ApiKeyListDto })
  async list(@Query() query: ListApiKeysQueryDto): Promise<ApiKeyListDto> {
    const now = new Date();
    return { items: (await this.keys.list({ includeRevoked: query.include_revoked === 'true' })).map((key) => toApiKeyDto(key, now)) };
  }

  @Get(':id')
  @ApiOperation({ summary: 'One managed key' })
  @ApiParam(KEY_PARAM)
  @ApiOkResponse({ type: ApiKeyDto })
  @ApiErrors(404)
  async show(@Param('id') id: string): Promise<ApiKeyDto> {
    return toApiKeyDto(await this.keys.show(id));
  }

  @Patch(':id')
  @ApiOperation({
    summary: 'Change a managed key',
    description:
      'Any of name, scopes, models, limits, expires_at. `models: null` allows every model, `expires_at: null` never expires; a limit set to null takes the configured default again, limits not named stay. Takes effect on the next request. A revoked key cannot be changed (409).',
  })
  @ApiParam(KEY_PARAM)
  @ApiOkResponse({ type: ApiKeyDto })
  @ApiErrors(404, 409)
  async update(@Param('id') id: string, @Body() body: UpdateApiKeyRequestDto, @Req() request: AuthenticatedRequest): Promise<ApiKeyDto> {
    const { expires_at: expiresAt, ...rest } = body;
    return toApiKeyDto(await this.keys.update(id, { ...rest, expiresAt }, actor(request)));
  }

  @Post(':id/rotate')
  @HttpCode(200)
  @ApiOperation({ summary: 'Give a managed key a new secret', description: 'The old secret is refused from the next request on; the answer holds the new one, shown this once.' })
  @ApiParam(KEY_PARAM)
  @ApiOkResponse({ type: IssuedApiKeyDto })
  @ApiErrors(404, 409)
  async rotate(@Param('id') id: string, @Req() request: AuthenticatedRequest): Promise<IssuedApiKeyDto> {
    return issued(await this.keys.rotate(id, actor(request)));
  }

  @Post(':id/revoke')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Revoke a managed key',
    description: 'For good: requests with it get 401 "This API key was revoked at …" (within a second, also when another process revoked it). Revoking again changes nothing.',
  })
  @ApiParam(KEY_PARAM)
  @ApiOkResponse({ type: ApiKeyDto })
  @ApiErrors(404)
  async revoke(@Param('id') id: string, @Req() request: AuthenticatedRequest): Promise<ApiKeyDto> {
    return toApiKeyDto(await this.keys.revoke(id, actor(request)));
  }
}

function issued({ key, secret }: IssuedKey): IssuedApiKeyDto {
  return { ...toApiKeyDto(key), secret };
}

/** The global guard let the request in, so it carries the key that acts. */
function actor(request: AuthenticatedRequest): string {
  return request.principal?.keyId ?? 'unknown';
}
