import { Injectable } from '@nestjs/common';
import { ImageResult, SearchProvider, SearchQuery, WebResult } from './search-provider';

/** Runs the configured provider, drops repeated URLs (ignoring #fragments) and keeps `maxResults`. */
@Injectable()
export class SearchService {
  constructor(private readonly provider: SearchProvider) {}

  async web(query: SearchQuery): Promise<WebResult[]> {
    return uniqueBy(await this.provider.web(query), (item) => item.href, query.maxResults);
  }

  async images(query: SearchQuery): Promise<ImageResult[]> {
    return uniqueBy(await this.provider.images(query), (item) => item.image, query.maxResults);
  }
}

function uniqueBy<T>(items: T[], url: (item: T) => string, limit: number): T[] {
  const seen = new Set<string>();
  const kept: T[] = [];
  for (const item of items) {
    const key = url(item).split('#')[0];
    if (seen.has(key)) continue;
    seen.add(key);
    kept.push(item);
    if (kept.length === limit) break;
  }
  return kept;
}
