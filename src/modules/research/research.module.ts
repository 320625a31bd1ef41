import { Module } from '@nestjs/common';
import { AppConfig } from '../../config/app-config';
import { OutboundFetcher } from '../../core/outbound/outbound-fetcher';
import { LlmModule } from '../../core/llm/llm.module';
import { OutboundModule } from '../../core/outbound/outbound.module';
import { PageReaderService } from './page-reader.service';
import { ResearchService } from './research.service';
import { DuckDuckGoProvider } from './search/duckduckgo.provider';
import { SearchProvider } from './search/search-provider';
import { SearchService } from './search/search.service';
import { SearxngProvider } from './search/searxng.provider';

/** Search, summarize and RAG without transport: shared by the HTTP routes and the CLI. */
@Module({
  imports: [OutboundModule, LlmModule],
  providers: [
    {
      provide: SearchProvider,
      inject: [AppConfig, OutboundFetcher],
      useFactory: (config: AppConfig, fetcher: OutboundFetcher): SearchProvider =>
        config.search.provider === 'searxng'
          ? new SearxngProvider(fetcher, config.search.searxngUrl!)
          : new DuckDuckGoProvider(fetcher, { html: config.search.duckduckgoHtmlUrl, base: config.search.duckduckgoUrl }),
    },
    SearchService,
    PageReaderService,
    ResearchService,
  ],
  exports: [SearchService, ResearchService],
})
export class ResearchModule {}
