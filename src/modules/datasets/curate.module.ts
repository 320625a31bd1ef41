import { Module } from '@nestjs/common';
import { HistoryModule } from '../history/history.module';
import { CurateService } from './curate.service';

/**
 * Training sets from the stored conversations. Apart from `DatasetsModule` (files only), so
 * `vega dataset build` never opens the database.
 */
@Module({ imports: [HistoryModule], providers: [CurateService], exports: [CurateService] })
export class CurateModule {}
