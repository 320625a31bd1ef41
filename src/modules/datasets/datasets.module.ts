import { Module } from '@nestjs/common';
import { DatasetBuildService } from './dataset-build.service';

/** Building training datasets from files; no database, no model. */
@Module({ providers: [DatasetBuildService], exports: [DatasetBuildService] })
export class DatasetsModule {}
