import { Controller, Get, Res, ServiceUnavailableException } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import {
  HealthCheckService,
  HealthIndicatorService,
  TypeOrmHealthIndicator,
  type HealthCheckResult,
  type HealthIndicatorFunction,
} from '@nestjs/terminus';
import type { FastifyReply } from 'fastify';
import { SkipThrottle } from '@nestjs/throttler';
import { Public } from '../../common/auth/public.decorator';
import { DatabaseCorruptError } from '../../common/errors/app-errors';
import { BackendProbe } from '../../core/health/backend-probe';
import { LlmService } from '../../core/llm/llm.service';
import { DatabaseHealth } from '../../core/persistence/database-health';
import { missingModelMessage } from '../../core/llm/model-availability';
import { EventLoopMonitor, MAX_EVENT_LOOP_DELAY_MS } from './event-loop-monitor';
import { HealthCheckResponseDto, HealthzResponseDto, ReadinessResponseDto } from './health.dto';

const DB_PING_TIMEOUT_MS = 1_000;

@ApiTags('health')
@Public()
// Probes and scrapes run often and need no key: no rate limit of any kind.
@SkipThrottle()
@Controller()
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly database: TypeOrmHealthIndicator,
    private readonly probe: BackendProbe,
    private readonly llm: LlmService,
    private readonly eventLoop: EventLoopMonitor,
    private readonly databaseHealth: DatabaseHealth,
  ) {}

  @Get('healthz')
  @ApiOperation({ summary: 'Process liveness', description: 'Answers as long as the process serves HTTP; touches no dependency.' })
  @ApiOkResponse({ type: HealthzResponseDto })
  healthz(): HealthzResponseDto {
    return { ok: true };
  }

  @Get('livez')
  @ApiOperation({
    summary: 'Liveness: the event loop is responsive',
    description: `503 while the event loop was blocked for more than ${MAX_EVENT_LOOP_DELAY_MS} ms at a stretch in the last 5 to 10 s. Touches no dependency.`,
  })
  @ApiOkResponse({ type: HealthCheckResponseDto })
  @ApiServiceUnavailableResponse({ type: HealthCheckResponseDto, description: 'The event loop was recently blocked for too long, or the app is shutting down.' })
  livez(@Res({ passthrough: true }) reply: FastifyReply): Promise<HealthCheckResult> {
    return this.check(reply, [() => this.eventLoopCheck()]);
  }

  @Get('readyz')
  @ApiOperation({
    summary: 'Readiness: the database answers and the model backend is reachable',
    description:
      'A database ping, and the result of the background probe of the model backend (`GET /api/version`, or `GET /models` for LLM_BACKEND=openai, at start and every HEALTH_PROBE_SECONDS; ' +
      'this route never waits on the backend). `degraded` is true while the backend is unreachable or the circuit breaker is not closed; ' +
      'an open breaker with a reachable backend still answers 200, with the `ollama` (or `openai`) check `degraded`; ' +
      'so does a backend that does not have MODEL_NAME (`reason: "model_missing"`, with the models it has): requests naming another model still work.',
  })
  @ApiOkResponse({ type: ReadinessResponseDto })
  @ApiServiceUnavailableResponse({ type: ReadinessResponseDto, description: 'The database or the model backend is down (details per check), or the app is shutting down.' })
  async readyz(@Res({ passthrough: true }) reply: FastifyReply): Promise<HealthCheckResult & { degraded: boolean }> {
    const result = await this.check(reply, [
      () => this.databaseCheck(),
      () => this.backendCheck(),
    ]);
    const state = this.probe.state;
    return { ...result, degraded: !state.up || state.missingModel !== null || this.llm.breakerStatus().state !== 'closed' };
  }

  /** Terminus throws 503 with the result as its body; answer that body as-is, not as an error message. */
  private async check(reply: FastifyReply, checks: HealthIndicatorFunction[]): Promise<HealthCheckResult> {
    try {
      return await this.health.check(checks);
    } catch (error) {
      if (!(error instanceof ServiceUnavailableException)) throw error;
      void reply.status(503);
      return error.getResponse() as HealthCheckResult;
    }
  }

  /** A ping; down for good once any statement met a damaged database (a ping reads no table page). */
  private databaseCheck() {
    const corruption = this.databaseHealth.corruption;
    if (corruption === undefined) return this.database.pingCheck('database', { timeout: DB_PING_TIMEOUT_MS });
    return this.indicators.check('database').down({ message: new DatabaseCorruptError(corruption).message, detail: corruption });
  }

  private eventLoopCheck() {
    const maxDelayMs = this.eventLoop.maxDelayMs();
    const check = this.indicators.check('event_loop');
    const data = { delay_max_ms: maxDelayMs, limit_ms: MAX_EVENT_LOOP_DELAY_MS };
    return maxDelayMs < MAX_EVENT_LOOP_DELAY_MS ? check.up(data) : check.down(data);
  }

  private backendCheck() {
    const state = this.probe.state;
    const breaker = this.llm.breakerStatus().state;
    // Named after the backend: `ollama`, or `openai` for an OpenAI-compatible server.
    const check = this.indicators.check(this.llm.backendKind);
    const data = {
      version: state.version,
      latency_ms: state.latencyMs === null ? null : Math.round(state.latencyMs * 100) / 100,
      checked_at: state.checkedAt,
      breaker,
      ...(state.error ? { message: state.error } : {}),
    };
    if (!state.up) return check.down(data);
    if (state.missingModel !== null) {
      const message = missingModelMessage(state.missingModel, this.llm.backendKind, state.models);
      return check.degraded({ ...data, reason: 'model_missing', model: state.missingModel, models: state.models, message });
    }
    return breaker === 'closed' ? check.up(data) : check.degraded(data);
  }
}
