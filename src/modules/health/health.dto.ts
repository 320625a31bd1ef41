import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

export class HealthzResponseDto {
  @ApiProperty({ description: 'Always true: the process is up and serving HTTP.', example: true })
  ok!: boolean;
}

const INDICATORS_EXAMPLE = {
  database: { status: 'up' },
  ollama: { status: 'up', version: '0.12.6', latency_ms: 1.2, checked_at: '2026-11-24T12:00:00.000Z', breaker: 'closed' },
};

/** Terminus's health-check result, plus `degraded`. */
export class HealthCheckResponseDto {
  @ApiProperty({
    description: "Overall status: 'ok', 'degraded' (serving, but impaired), 'error' (some check is down), 'shutting_down'.",
    enum: ['ok', 'degraded', 'error', 'shutting_down'],
    example: 'ok',
  })
  status!: 'ok' | 'degraded' | 'error' | 'shutting_down';

  @ApiPropertyOptional({ description: 'Checks that are up or degraded, by name.', type: 'object', additionalProperties: true, example: INDICATORS_EXAMPLE })
  info?: Record<string, unknown>;

  @ApiPropertyOptional({ description: 'Checks that are down, by name, with the reason.', type: 'object', additionalProperties: true, example: {} })
  error?: Record<string, unknown>;

  @ApiProperty({ description: 'Every check, by name.', type: 'object', additionalProperties: true, example: INDICATORS_EXAMPLE })
  details!: Record<string, unknown>;
}

export class ReadinessResponseDto extends HealthCheckResponseDto {
  @ApiProperty({
    description: 'True while the model backend is unreachable (per the last background probe) or the circuit breaker is not closed.',
    example: false,
  })
  degraded!: boolean;
}
