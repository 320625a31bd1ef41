import { Global, Module } from '@nestjs/common';
import { AppConfig } from '../../config/app-config';
import { BackendProbeModule } from '../../core/health/backend-probe.module';
import { ThrottlingModule } from '../../common/throttling/throttling.module';
import { LlmModule } from '../../core/llm/llm.module';
import { LlmObserver } from '../../core/llm/llm-observer';
import { HttpMetrics } from '../../core/metrics/http-metrics';
import { HttpTelemetry } from '../../core/metrics/http-telemetry';
import { CallerContext } from '../../common/auth/caller-context';
import { KeyMetrics } from '../../core/metrics/key-metrics';
import { LlmMetrics } from '../../core/metrics/llm-metrics';
import { MetricsRegistry } from '../../core/metrics/metrics-registry';
import { StateMetrics } from '../../core/metrics/state-metrics';
import { MetricsController } from './metrics.controller';

/**
 * `GET /metrics`, the per-request telemetry hooks, and the `LlmObserver` that `LlmService`
 * reports call outcomes to. Global so that the optional observer reaches `LlmService`; imported
 * by the HTTP app only (the CLI records nothing).
 */
@Global()
@Module({
  imports: [LlmModule, BackendProbeModule, ThrottlingModule],
  controllers: [MetricsController],
  providers: [
    MetricsRegistry,
    HttpMetrics,
    { provide: KeyMetrics, inject: [AppConfig], useFactory: (config: AppConfig) => new KeyMetrics(config.metrics.maxKeys) },
    {
      provide: LlmMetrics,
      inject: [AppConfig, CallerContext, KeyMetrics],
      useFactory: (config: AppConfig, caller: CallerContext, metrics: KeyMetrics) => new LlmMetrics(config.llm.model, { caller, metrics }),
    },
    { provide: LlmObserver, useExisting: LlmMetrics },
    StateMetrics,
    HttpTelemetry,
  ],
  exports: [LlmObserver, LlmMetrics, KeyMetrics, HttpMetrics, MetricsRegistry],
})
export class MetricsModule {}
