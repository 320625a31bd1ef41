import { Module } from '@nestjs/common';
import { PersistenceModule } from '../../core/persistence/persistence.module';
import { HistoryController } from './history.controller';
import { HistoryService } from './history.service';

@Module({
  imports: [PersistenceModule],
  controllers: [HistoryController],
  providers: [HistoryService],
  exports: [HistoryService],
})
export class HistoryModule {}
