import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { BackendProbeModule } from '../../core/health/backend-probe.module';
import { LlmModule } from '../../core/llm/llm.module';
import { PersistenceModule } from '../../core/persistence/persistence.module';
import { EventLoopMonitor } from './event-loop-monitor';
import { HealthController } from './health.controller';

/** `/healthz`, `/livez`, `/readyz`. Terminus's own error log is off: the probe logs backend state changes once. */
@Module({
  imports: [TerminusModule.forRoot({ logger: false }), LlmModule, BackendProbeModule, PersistenceModule],
  controllers: [HealthController],
  providers: [EventLoopMonitor],
})
export class HealthModule {}
