import { ApiProperty } from '@nestjs/swagger';

export class BackendStatusDto {
  @ApiProperty({ description: 'Backend kind (LLM_BACKEND).', example: 'ollama' })
  kind!: string;

  @ApiProperty({ description: 'Backend base URLs, in failover order (credentials removed).', example: ['http://127.0.0.1:11434'] })
  urls!: string[];

  @ApiProperty({ description: 'Default model (MODEL_NAME).', example: 'mistral' })
  model!: string;
}

export class BreakerStatusDto {
  @ApiProperty({ description: 'Circuit breaker state.', enum: ['closed', 'open', 'half_open'], example: 'closed' })
  state!: string;

  @ApiProperty({ description: 'Consecutive failures counted so far.', example: 0 })
  consecutive_failures!: number;

  @ApiProperty({ description: 'Seconds until a call may be tried again (0 when it may be tried now).', example: 0 })
  retry_after_seconds!: number;
}

export class CacheStatusDto {
  @ApiProperty({ description: 'Whether the answer cache is on (CACHE_TTL_SECONDS and CACHE_MAX_ENTRIES > 0).', example: true })
  enabled!: boolean;

  @ApiProperty({ description: 'Entries held now.', example: 12 })
  size!: number;

  @ApiProperty({ description: 'Most entries held.', example: 1000 })
  max_entries!: number;

  @ApiProperty({ description: 'Time to live of an entry, seconds.', example: 60 })
  ttl_seconds!: number;

  @ApiProperty({ description: 'Lookups answered from the cache since start.', example: 30 })
  hits!: number;

  @ApiProperty({ description: 'Lookups that missed since start.', example: 70 })
  misses!: number;
}

export class DatabaseStatusDto {
  @ApiProperty({ description: 'Database file.', example: '/var/lib/vega/vega.db' })
  path!: string;

  @ApiProperty({ description: 'Size of the database file, bytes.', example: 1048576 })
  size_bytes!: number;

  @ApiProperty({ description: 'Size of its write-ahead log, bytes.', example: 4096 })
  wal_bytes!: number;

  @ApiProperty({ description: 'Stored conversations.', example: 1234 })
  conversations!: number;
}

export class AdminStatusDto {
  @ApiProperty({ description: 'Vega version.', example: '0.1.0' })
  version!: string;

  @ApiProperty({ description: 'Seconds since the process started.', example: 3600.5 })
  uptime_seconds!: number;

  @ApiProperty({ description: 'When the process started (ISO 8601).', example: '2026-11-24T09:00:00.000Z' })
  started_at!: string;

  @ApiProperty({ type: BackendStatusDto })
  backend!: BackendStatusDto;

  @ApiProperty({ type: BreakerStatusDto })
  breaker!: BreakerStatusDto;

  @ApiProperty({ type: CacheStatusDto })
  cache!: CacheStatusDto;

  @ApiProperty({ type: DatabaseStatusDto })
  database!: DatabaseStatusDto;

  @ApiProperty({
    description: 'The effective configuration, with every secret (API keys, per-key limits, URL credentials) redacted.',
    type: 'object',
    additionalProperties: true,
    example: { http: { host: '127.0.0.1', port: 8000 }, auth: { apiKey: '[redacted]', extraKeys: [] } },
  })
  config!: Record<string, unknown>;
}

export class CacheClearedDto {
  @ApiProperty({ description: 'Entries removed.', example: 12 })
  cleared!: number;

  @ApiProperty({ type: CacheStatusDto, description: 'The cache after clearing (hit/miss counters are kept).' })
  cache!: CacheStatusDto;
}

export class BreakerResetDto {
  @ApiProperty({ description: 'The state before the reset.', enum: ['closed', 'open', 'half_open'], example: 'open' })
  previous_state!: string;

  @ApiProperty({ type: BreakerStatusDto, description: 'The breaker after the reset (closed).' })
  breaker!: BreakerStatusDto;
}
