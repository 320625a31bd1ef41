import { Controller, Get, Headers, Res, UnauthorizedException } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { createHash, timingSafeEqual } from 'node:crypto';
import { AppConfig } from '../../config/app-config';
import { SkipThrottle } from '@nestjs/throttler';
import { Public } from '../../common/auth/public.decorator';
import { ErrorResponseDto } from '../../common/errors/error-response.dto';
import { MetricsRegistry } from '../../core/metrics/metrics-registry';

const digestOf = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();

@ApiTags('metrics')
@Public()
// Probes and scrapes run often and need no key: no rate limit of any kind.
@SkipThrottle()
@Controller()
export class MetricsController {
  /** SHA-256 of `METRICS_TOKEN`: equal-length digests compare in constant time. */
  private readonly tokenDigest?: Buffer;

  constructor(
    private readonly registry: MetricsRegistry,
    config: AppConfig,
  ) {
    if (config.metrics.token) this.tokenDigest = digestOf(config.metrics.token);
  }

  @Get('metrics')
  @ApiOperation({
    summary: 'Prometheus metrics',
    description:
      'The Prometheus text format (prom-client): HTTP, model-call, cache, breaker, backend and process metrics; the README lists them. ' +
      'Needs no API key; when METRICS_TOKEN is set, it must be sent as `Authorization: Bearer <token>`.',
  })
  @ApiProduces('text/plain')
  @ApiOkResponse({ description: 'The metrics, in the Prometheus text exposition format 0.0.4.', schema: { type: 'string' } })
  @ApiResponse({ status: 401, type: ErrorResponseDto, description: 'METRICS_TOKEN is set and the request does not carry it.' })
  async metrics(@Headers('authorization') authorization: string | undefined, @Res({ passthrough: true }) reply: FastifyReply): Promise<string> {
    this.authorize(authorization, reply);
    void reply.header('content-type', this.registry.contentType);
    return this.registry.scrape();
  }

  private authorize(authorization: string | undefined, reply: FastifyReply): void {
    if (!this.tokenDigest) return;
    const match = authorization === undefined ? null : /^bearer\s+(.+)$/i.exec(authorization.trim());
    if (match && timingSafeEqual(digestOf(match[1]!), this.tokenDigest)) return;
    void reply.header('www-authenticate', 'Bearer realm="metrics"');
    throw new UnauthorizedException(
      match ? 'Invalid metrics token' : 'Missing metrics token: send METRICS_TOKEN as Authorization: Bearer <token>',
    );
  }
}
