import { Controller, Get, Req } from '@nestjs/common';
import { ApiExtension, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { AuthenticatedRequest } from '../../common/auth/api-key.guard';
import { SCOPE_EXTENSION } from '../../common/auth/scopes.decorator';
import { ApiErrors } from '../../common/errors/api-errors.decorator';
import { MeResponseDto, toMeDto } from './dto/me.dto';

/** `GET /me`: any valid key may ask what it is (the web UI shows its Admin tab from the scopes). */
@ApiTags('keys')
// Declared, not forgotten: every key may ask (the docs list no scope; no scope guard runs).
@ApiExtension(SCOPE_EXTENSION, [])
@Controller('me')
@ApiErrors(401, 429)
export class MeController {
  @Get()
  @ApiOperation({ summary: 'The calling key', description: 'Its id, name, kind, scopes, allowed models and limits; never the secret. Needs no scope.' })
  @ApiOkResponse({ type: MeResponseDto })
  me(@Req() request: AuthenticatedRequest): MeResponseDto {
    // The global guard ran: a request without a principal never gets here.
    return toMeDto(request.principal!);
  }
}
