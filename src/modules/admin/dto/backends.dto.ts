import { ApiProperty } from '@nestjs/swagger';

/** One model server behind Vega, as `GET /admin/backends` and `vega backends --json` show it. */
export class BackendDto {
  @ApiProperty({ description: 'The target name (BACKENDS_FILE `name`, or host:port of OLLAMA_URL / OPENAI_BASE_URL).', example: 'gpu-1' })
  name!: string;

  @ApiProperty({ description: 'What it speaks.', enum: ['ollama', 'openai'], example: 'ollama' })
  kind!: string;

  @ApiProperty({ description: 'Its base URL, credentials redacted.', example: 'http://10.0.0.11:11434' })
  url!: string;

  @ApiProperty({ description: "The background probe's last verdict (HEALTH_PROBE_SECONDS); unknown before the first.", enum: ['up', 'down', 'unknown'], example: 'up' })
  health!: string;

  @ApiProperty({ description: 'When it was last probed.', type: String, nullable: true, example: '2026-12-06T12:00:00.000Z' })
  checked_at!: string | null;

  @ApiProperty({ description: 'Why the last probe failed.', type: String, nullable: true, example: null })
  error!: string | null;

  @ApiProperty({ description: 'Its own circuit breaker.', enum: ['closed', 'open', 'half_open'], example: 'closed' })
  breaker!: string;

  @ApiProperty({ description: 'Requests sent to it and not finished.', example: 2 })
  in_flight!: number;

  @ApiProperty({ description: 'Requests it is given at once (0: no limit).', example: 4 })
  max_concurrency!: number;

  @ApiProperty({ description: "Requests waiting in Vega's queue for room on it.", example: 0 })
  queued!: number;

  @ApiProperty({ description: 'The models it has in memory (Ollama /api/ps), as last seen.', type: [String], example: ['llama3.2:latest'] })
  loaded_models!: string[];

  @ApiProperty({ description: 'The models it serves (configured or discovered); null while not known.', type: [String], nullable: true, example: ['llama3.2:latest', 'qwen2.5:7b'] })
  models!: string[] | null;

  @ApiProperty({ description: 'Median duration of its last 256 successful attempts, in milliseconds; null before the first.', type: Number, nullable: true, example: 840.5 })
  p50_latency_ms!: number | null;

  @ApiProperty({ description: 'Attempts sent to it since start that ended (answered or failed).', example: 120 })
  requests!: number;

  @ApiProperty({ description: 'Attempts that failed on its side (5xx, unreachable, timeout) since start.', example: 1 })
  errors!: number;

  @ApiProperty({ description: 'Drained by an operator: nothing new is sent to it, what runs finishes.', example: false })
  draining!: boolean;
}

export class BackendListDto {
  @ApiProperty({ description: 'How requests are spread over them (ROUTING_STRATEGY or the file).', example: 'loaded-first' })
  strategy!: string;

  @ApiProperty({ description: 'Every target, in configuration order.', type: [BackendDto] })
  backends!: BackendDto[];
}

/** What `POST /admin/backends/reload` and `vega backends reload --json` answer. */
export class BackendsReloadDto {
  @ApiProperty({ description: 'The file read (BACKENDS_FILE); null without one (the servers come from OLLAMA_URL or OPENAI_BASE_URL: nothing changes).', type: String, nullable: true, example: '/etc/vega/backends.yaml' })
  file!: string | null;

  @ApiProperty({ description: 'The strategy now (the file\'s, or ROUTING_STRATEGY).', example: 'least-busy' })
  strategy!: string;

  @ApiProperty({ description: 'Every target now, in the file\'s order.', type: [String], example: ['gpu-1', 'gpu-2'] })
  targets!: string[];

  @ApiProperty({ description: 'Targets new in the file.', type: [String], example: ['gpu-2'] })
  added!: string[];

  @ApiProperty({ description: 'Targets no longer in the file: nothing new goes to them, what runs there finishes.', type: [String], example: [] })
  removed!: string[];

  @ApiProperty({
    description: 'Targets whose settings changed (weight, max concurrency, timeouts, models in place; a new URL, kind or key makes a new target with a fresh breaker).',
    type: [String],
    example: ['gpu-1'],
  })
  changed!: string[];
}
