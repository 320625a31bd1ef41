import { Module } from '@nestjs/common';
import { PersistenceModule } from '../../core/persistence/persistence.module';
import { UsageService } from './usage.service';

/** Usage reports from the stored exchanges; shared by the HTTP app and `vega usage`. */
@Module({
  imports: [PersistenceModule],
  providers: [UsageService],
  exports: [UsageService],
})
export class UsageModule {}
