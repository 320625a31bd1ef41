import { Controller, Get, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AdminOnly } from '../../common/auth/scopes.decorator';
import { ApiErrors } from '../../common/errors/api-errors.decorator';
import { parseIsoUtc } from '../history/iso-date';
import { AuditService } from './audit.service';
import { AuditPageDto, AuditQueryDto, toAuditEntryDto } from './dto/audit.dto';

@ApiTags('admin')
@AdminOnly()
@Controller('admin')
@ApiErrors(400, 401, 429)
export class AuditController {
  constructor(private readonly audit: AuditService) {}

  @Get('audit')
  @ApiOperation({
    summary: 'The audit log of model and key management',
    description:
      'Every call to /api/pull, /api/push, /api/create, /api/copy, /api/delete and /api/blobs/…, and every change to a managed key (/admin/keys, `vega keys`): when, which key, route, models, outcome (ok, error, aborted) with the HTTP status, duration and a short detail. Newest first, paged with `limit` and `cursor`.',
  })
  @ApiOkResponse({ type: AuditPageDto })
  async list(@Query() query: AuditQueryDto): Promise<AuditPageDto> {
    const page = await this.audit.page(
      { route: query.route, outcome: query.outcome, since: parseIsoUtc(query.since) },
      { limit: query.limit ?? 50, cursor: query.cursor },
    );
    return { items: page.items.map(toAuditEntryDto), next_cursor: page.nextCursor };
  }
}
