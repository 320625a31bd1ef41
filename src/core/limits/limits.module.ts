import { Module } from '@nestjs/common';
import { PersistenceModule } from '../persistence/persistence.module';
import { InMemoryUsageLimiter } from './in-memory-usage-limiter';
import { KeyLimitsService } from './key-limits.service';
import { KeyUsageSource } from './key-usage.source';
import { UsageLimiter } from './usage-limiter';

/**
 * Per-key limits and budgets: the `UsageLimiter` port (in memory: one process) seeded from the
 * stored exchanges, and the service `LlmService` enforces them through.
 */
@Module({
  imports: [PersistenceModule],
  providers: [
    { provide: UsageLimiter, inject: [KeyUsageSource], useFactory: (source: KeyUsageSource) => new InMemoryUsageLimiter(source) },
    KeyLimitsService,
  ],
  exports: [KeyLimitsService],
})
export class LimitsModule {}
