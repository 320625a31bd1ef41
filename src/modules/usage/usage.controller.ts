import { Controller, Get, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AdminOnly } from '../../common/auth/scopes.decorator';
import { ApiErrors } from '../../common/errors/api-errors.decorator';
import { UsageService } from './usage.service';
import { toUsageReportDto, UsageQueryDto, UsageReportDto } from './dto/usage.dto';

@ApiTags('admin')
@AdminOnly()
@Controller('admin')
@ApiErrors(400, 401, 403, 429)
export class UsageController {
  constructor(private readonly usage: UsageService) {}

  @Get('usage')
  @ApiOperation({
    summary: 'Usage per key, model, day or lane',
    description:
      'From the stored exchanges in [from, to) (default: the last 30 days): requests, prompt and completion tokens, model-seconds (the backend\'s generation time), errors and p50/p95 duration, grouped by one or two of key, model, day (UTC) and lane, e.g. `group_by=day,key`; with totals for the whole range.',
  })
  @ApiOkResponse({ type: UsageReportDto })
  async report(@Query() query: UsageQueryDto): Promise<UsageReportDto> {
    return toUsageReportDto(await this.usage.report({ from: query.from, to: query.to, groupBy: query.group_by }));
  }
}
