import { Injectable } from '@nestjs/common';
import { AppConfig } from '../../config/app-config';
import { GenerationSettingsService } from '../../core/llm/generation-settings.service';
import type { GenerationOverrides, GenerationSettings } from '../../core/llm/generation-settings';
import { LlmService } from '../../core/llm/llm.service';
import { BackendsReloadService } from '../../core/llm/backends-reload.service';
import type { BackendStatus } from '../../core/llm/routing/backend-status';
import type { BackendDto, BackendListDto, BackendsReloadDto } from './dto/backends.dto';
import { ConversationHistoryRepository } from '../../core/persistence/conversation-history.repository';
import { DatabaseMaintenance } from '../../core/persistence/database-maintenance';
import { version } from '../../../package.json';
import { redactConfig, redactUrlCredentials } from './config-redaction';

export interface BreakerStatus {
  state: string;
  consecutive_failures: number;
  retry_after_seconds: number;
}

export interface CacheStatus {
  enabled: boolean;
  size: number;
  max_entries: number;
  ttl_seconds: number;
  hits: number;
  misses: number;
}

/** The report of `GET /admin/status` and `vega db stats`/`vega health`, in the API's field names. */
export interface AdminStatus {
  version: string;
  uptime_seconds: number;
  started_at: string;
  backend: { kind: string; urls: string[]; model: string };
  breaker: BreakerStatus;
  cache: CacheStatus;
  database: { path: string; size_bytes: number; wal_bytes: number; conversations: number };
  config: Record<string, unknown>;
}

/** Runtime settings, status and the resilience controls (cache, breaker), for the admin API and the CLI. */
@Injectable()
export class AdminService {
  constructor(
    private readonly config: AppConfig,
    private readonly llm: LlmService,
    private readonly generationSettings: GenerationSettingsService,
    private readonly conversations: ConversationHistoryRepository,
    private readonly database: DatabaseMaintenance,
    private readonly backendsFile: BackendsReloadService,
  ) {}

  generation(): GenerationSettings {
    return this.generationSettings.get();
  }

  updateGeneration(overrides: GenerationOverrides): GenerationSettings {
    return this.generationSettings.update(overrides);
  }

  resetGeneration(): GenerationSettings {
    return this.generationSettings.reset();
  }

  async status(): Promise<AdminStatus> {
    const uptime = process.uptime();
    const [file, conversations] = await Promise.all([this.database.fileInfo(), this.conversations.count()]);
    return {
      version,
      uptime_seconds: Math.round(uptime * 1000) / 1000,
      started_at: new Date(Date.now() - uptime * 1000).toISOString(),
      backend: { kind: this.config.llm.backend, urls: this.config.llm.urls.map(redactUrlCredentials), model: this.config.llm.model },
      breaker: this.breakerStatus(),
      cache: this.cacheStatus(),
      database: { path: file.path, size_bytes: file.sizeBytes, wal_bytes: file.walBytes, conversations },
      config: redactConfig(this.config),
    };
  }

  clearCache(): { cleared: number; cache: CacheStatus } {
    return { cleared: this.llm.clearCache(), cache: this.cacheStatus() };
  }

  resetBreaker(): { previous_state: string; breaker: BreakerStatus } {
    return { previous_state: this.llm.resetBreaker(), breaker: this.breakerStatus() };
  }

  /** Every model server: health, breaker, load, models, latency, errors, draining. */
  backends(): BackendListDto {
    return { strategy: this.llm.routingStrategy, backends: this.llm.backends().map(toBackendDto) };
  }

  /** `BACKENDS_FILE` read again and applied (every instance, with Redis); `ConflictError` when there is none or it has problems. */
  reloadBackends(): BackendsReloadDto {
    return this.backendsFile.reload();
  }

  /** Sends nothing new to the model server `name`; what runs there finishes. `NotFoundError` for an unknown name. */
  drain(name: string): BackendDto {
    return toBackendDto(this.llm.drain(name));
  }

  /** Sends requests to the model server `name` again. */
  resume(name: string): BackendDto {
    return toBackendDto(this.llm.resume(name));
  }

  private breakerStatus(): BreakerStatus {
    const breaker = this.llm.breakerStatus();
    return {
      state: breaker.state,
      consecutive_failures: breaker.failures,
      retry_after_seconds: Math.ceil(breaker.retryAfterMs / 1000),
    };
  }

  private cacheStatus(): CacheStatus {
    const stats = this.llm.cacheStatus();
    return {
      enabled: stats.enabled,
      size: stats.size,
      max_entries: stats.maxEntries,
      ttl_seconds: stats.ttlMs / 1000,
      hits: stats.hits,
      misses: stats.misses,
    };
  }
}

function toBackendDto(status: BackendStatus): BackendDto {
  return {
    name: status.name,
    kind: status.kind,
    url: status.url,
    health: status.health,
    checked_at: status.healthCheckedAt?.toISOString() ?? null,
    error: status.healthError,
    breaker: status.breaker,
    in_flight: status.inFlight,
    max_concurrency: status.maxConcurrency,
    queued: status.queued,
    loaded_models: [...status.loadedModels],
    models: status.models && [...status.models],
    p50_latency_ms: status.p50LatencyMs === null ? null : Math.round(status.p50LatencyMs * 10) / 10,
    requests: status.requests,
    errors: status.errors,
    draining: status.draining,
  };
}
