import { Module } from '@nestjs/common';
import { PersistenceModule } from '../../core/persistence/persistence.module';
import { TypeOrmUsageRepository } from '../../core/persistence/typeorm-usage.repository';
import { UsageRepository } from '../../core/persistence/usage.repository';
import { UsageService } from './usage.service';

/** Usage reports from the stored exchanges; shared by the HTTP app and `vega usage`. */
@Module({
  imports: [PersistenceModule],
  providers: [{ provide: UsageRepository, useClass: TypeOrmUsageRepository }, UsageService],
  exports: [UsageService],
})
export class UsageModule {}
