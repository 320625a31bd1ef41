import { Controller, Get, Optional, Res, ServiceUnavailableException } from '@nestjs/common';
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
import { BackendProbe, type BackendState } from '../../core/health/backend-probe';
import type { BackendStatus } from '../../core/llm/routing/backend-status';
import { LlmService } from '../../core/llm/llm.service';
import { DatabaseHealth } from '../../core/persistence/database-health';
import { ExchangeSpool } from '../../core/persistence/exchange-spool';
import { RedisClient } from '../../core/redis/redis.client';
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
    private readonly spool: ExchangeSpool,
    /** With `REDIS_URL`: reported, degraded while down (each instance then decides alone), never not-ready. */
    @Optional() private readonly redis?: RedisClient,
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
      'so does a backend that does not have MODEL_NAME (`reason: "model_missing"`, with the models it has): requests naming another model still work. ' +
      'With several model servers (BACKENDS_FILE, or a list in OLLAMA_URL), each is probed: ready while at least one is up and not draining, degraded while another is down, draining or open, ' +
      'and each is reported under `targets` (status up, down or draining, version, latency, breaker). ' +
      'With REDIS_URL, a `redis` check: degraded (never down) while Redis is unreachable. ' +
      'A database that does not answer the ping (a PostgreSQL server down) is `degraded`, not down: chats are still answered and their exchanges kept in the spool ' +
      '(`spool_pending: true` while some wait); a damaged database is down.',
  })
  @ApiOkResponse({ type: ReadinessResponseDto })
  @ApiServiceUnavailableResponse({ type: ReadinessResponseDto, description: 'The database or the model backend is down (details per check), or the app is shutting down.' })
  async readyz(@Res({ passthrough: true }) reply: FastifyReply): Promise<HealthCheckResult & { degraded: boolean }> {
    const result = await this.check(reply, [
      () => this.databaseCheck(),
      () => this.backendCheck(),
      ...(this.redis ? [() => this.redisCheck(this.redis!)] : []),
    ]);
    const backend = result.details[this.llm.backendKind];
    const degraded = backend?.status !== 'up' || (this.redis !== undefined && !this.redis.up) || result.details.database?.status === 'degraded';
    return { ...result, degraded };
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

  /**
   * A ping; down for good once any statement met a damaged database (a ping reads no table page).
   * A database that does not answer the ping (a PostgreSQL server down) is degraded, not down:
   * chats are still answered, their exchanges kept in the spool until it is back.
   * `spool_pending` while exchanges wait there (also while they are being written back).
   */
  private async databaseCheck() {
    const corruption = this.databaseHealth.corruption;
    const check = this.indicators.check('database');
    if (corruption !== undefined) return check.down({ message: new DatabaseCorruptError(corruption).message, detail: corruption });
    const ping = (await this.database.pingCheck('database', { timeout: DB_PING_TIMEOUT_MS })).database;
    const spool = this.spool.pending ? { spool_pending: true } : {};
    if (ping.status === 'up') return check.up({ responseTime: ping.responseTime, ...spool });
    return check.degraded({
      message: 'the database does not answer: chats are still answered and their exchanges kept in the spool until it is back; history, search, usage, keys and the audit log answer 503 meanwhile',
      detail: ping.message,
      ...spool,
    });
  }

  private redisCheck(redis: RedisClient) {
    const check = this.indicators.check('redis');
    return redis.up ? check.up() : check.degraded({ message: "Redis is unreachable: limits and the cache are this instance's own until it is back" });
  }

  private eventLoopCheck() {
    const maxDelayMs = this.eventLoop.maxDelayMs();
    const check = this.indicators.check('event_loop');
    const data = { delay_max_ms: maxDelayMs, limit_ms: MAX_EVENT_LOOP_DELAY_MS };
    return maxDelayMs < MAX_EVENT_LOOP_DELAY_MS ? check.up(data) : check.down(data);
  }

  /**
   * Ready while at least one target is up and not draining. Degraded while another is down,
   * draining or has its breaker not closed, or when none that is up lists MODEL_NAME (requests
   * naming another model still work). With several targets, each is reported under `targets`.
   */
  private backendCheck() {
    const state = this.probe.state;
    const backends = this.llm.backends();
    const targets = this.probe.targetStates;
    const breaker = this.llm.breakerStatus().state;
    // Named after the backend: `ollama`, or `openai` for an OpenAI-compatible server.
    const check = this.indicators.check(this.llm.backendKind);
    const data = {
      version: state.version,
      latency_ms: roundMs(state.latencyMs),
      checked_at: state.checkedAt,
      breaker,
      ...(state.error ? { message: state.error } : {}),
      ...(backends.length > 1 ? { targets: Object.fromEntries(backends.map((backend) => [backend.name, targetDetail(backend, targets.get(backend.name))])) } : {}),
    };
    const serving = backends.some((backend) => !backend.draining && targets.get(backend.name)?.up);
    if (!serving) return check.down(backends.length === 1 && backends[0]!.draining && state.up ? { ...data, message: 'the model server is draining' } : data);
    if (state.missingModel !== null) {
      const message = missingModelMessage(state.missingModel, this.llm.backendKind, state.models);
      return check.degraded({ ...data, reason: 'model_missing', model: state.missingModel, models: state.models, message });
    }
    const impaired = backends.some((backend) => backend.draining || backend.breaker !== 'closed' || !targets.get(backend.name)?.up);
    return impaired ? check.degraded(data) : check.up(data);
  }
}

const roundMs = (ms: number | null) => (ms === null ? null : Math.round(ms * 100) / 100);

/** One target in `/readyz`: `up`, `down` or `draining`, with what its last probe found. */
function targetDetail(backend: BackendStatus, state: Readonly<BackendState> | undefined) {
  return {
    status: backend.draining ? 'draining' : state?.up ? 'up' : 'down',
    kind: backend.kind,
    version: state?.version ?? null,
    latency_ms: roundMs(state?.latencyMs ?? null),
    checked_at: state?.checkedAt ?? null,
    breaker: backend.breaker,
    ...(state?.error ? { message: state.error } : {}),
    ...(state?.missingModel ? { missing_model: state.missingModel } : {}),
  };
}
