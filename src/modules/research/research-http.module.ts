import { Module } from '@nestjs/common';
import { ResearchController } from './research.controller';
import { ResearchModule } from './research.module';
import { SearchController } from './search.controller';

/** The `/search/*` and `/research/*` routes over the transport-free `ResearchModule`. */
@Module({ imports: [ResearchModule], controllers: [SearchController, ResearchController] })
export class ResearchHttpModule {}
