import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProperty, ApiTags } from '@nestjs/swagger';
import { Public } from '../../common/auth/public.decorator';

class HealthzResponseDto {
  @ApiProperty({ description: 'Always true: the process is up and serving HTTP.', example: true })
  ok!: boolean;
}

@ApiTags('health')
@Public()
@Controller()
export class HealthController {
  @Get('healthz')
  @ApiOperation({ summary: 'Process liveness', description: 'Answers as long as the process serves HTTP; touches no dependency.' })
  @ApiOkResponse({ type: HealthzResponseDto })
  healthz(): HealthzResponseDto {
    return { ok: true };
  }
}
