import { Module } from '@nestjs/common';
import { HistoryController } from './history.controller';
import { HistoryModule } from './history.module';

/** The history routes; imported by the HTTP app only. */
@Module({ imports: [HistoryModule], controllers: [HistoryController] })
export class HistoryHttpModule {}
