import { Module } from '@nestjs/common';
import { PersistenceModule } from '../../core/persistence/persistence.module';
import { HistoryService } from './history.service';

/** History, sessions, search and feedback without transport: shared by the HTTP routes and the CLI. */
@Module({
  imports: [PersistenceModule],
  providers: [HistoryService],
  exports: [HistoryService],
})
export class HistoryModule {}
