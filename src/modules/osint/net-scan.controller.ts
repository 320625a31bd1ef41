import { Body, Controller, HttpCode, Post, Res } from '@nestjs/common';
import { RequireScope } from '../../common/auth/scopes.decorator';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { setMaxListeners } from 'node:events';
import { ApiErrors } from '../../common/errors/api-errors.decorator';
import { clientGoneSignal } from '../../common/http/client-gone';
import { NetScanRequestDto, NetScanResponseDto } from './dto/net-scan.dto';
import { NetScanService } from './net-scan.service';

@ApiTags('osint')
@RequireScope('research')
@Controller('net')
export class NetScanController {
  constructor(private readonly scanner: NetScanService) {}

  @Post('scan')
  @HttpCode(200)
  @ApiOperation({
    summary: 'TCP connect scan of an allowed host',
    description:
      'Tries a TCP connection to each port (concurrency at once, timeout seconds each). Only hosts covered by NET_SCAN_ALLOW (hosts and CIDR ranges; a name is resolved and every address must be covered) may be scanned; anything else is refused with 403 before any connection is tried.',
  })
  @ApiOkResponse({ type: NetScanResponseDto })
  @ApiErrors(400, 401, [403, 'The host (or one of its addresses) is not in NET_SCAN_ALLOW.'], 429, [502, 'The host name could not be resolved.'])
  async scan(@Body() body: NetScanRequestDto, @Res({ passthrough: true }) reply: FastifyReply): Promise<NetScanResponseDto> {
    const signal = clientGoneSignal(reply);
    // Every connection in flight listens to the client's signal.
    setMaxListeners(body.concurrency + 10, signal);
    return this.scanner.scan({ host: body.host, ports: body.ports, timeoutMs: Math.round(body.timeout * 1000), concurrency: body.concurrency, signal });
  }
}
