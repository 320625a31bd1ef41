import { Body, Controller, HttpCode, Post, Res, UseGuards } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { ApiFetchErrors } from '../../common/errors/api-errors.decorator';
import { clientGoneSignal } from '../../common/http/client-gone';
import { KeyThrottlerGuard } from '../../common/throttling/key-throttler.guard';
import { HttpHeadersResponseDto } from './dto/http-headers-response.dto';
import { RobotsResponseDto } from './dto/robots-response.dto';
import { UrlRequestDto } from './dto/url-request.dto';
import { OsintWebService } from './osint-web.service';

@ApiTags('osint')
@Controller('osint')
@UseGuards(KeyThrottlerGuard)
@ApiFetchErrors()
export class OsintController {
  constructor(private readonly web: OsintWebService) {}

  @Post('http_headers')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Read the response headers of a URL',
    description: 'GETs the URL (following up to 5 redirects, each checked by the SSRF guard) and reports the final status and headers, with which common security headers are present.',
  })
  @ApiOkResponse({ type: HttpHeadersResponseDto })
  async httpHeaders(@Body() body: UrlRequestDto, @Res({ passthrough: true }) reply: FastifyReply): Promise<HttpHeadersResponseDto> {
    return this.web.httpHeaders(body.url, clientGoneSignal(reply));
  }

  @Post('robots')
  @HttpCode(200)
  @ApiOperation({
    summary: "Read a site's robots.txt",
    description: 'Fetches /robots.txt at the origin of the given URL. A 404 or 410 answers `found: false`.',
  })
  @ApiOkResponse({ type: RobotsResponseDto })
  async robots(@Body() body: UrlRequestDto, @Res({ passthrough: true }) reply: FastifyReply): Promise<RobotsResponseDto> {
    return this.web.robots(body.url, clientGoneSignal(reply));
  }
}
