export type SafeSearch = 'off' | 'moderate' | 'strict';
export const SAFESEARCH_LEVELS: readonly SafeSearch[] = ['off', 'moderate', 'strict'];

export interface SearchQuery {
  query: string;
  maxResults: number;
  safesearch: SafeSearch;
  signal?: AbortSignal;
}

export interface WebResult {
  title: string;
  href: string;
  snippet: string;
  /** The provider that found it (`duckduckgo`, `searxng`). */
  source: string;
}

export interface ImageResult {
  title: string;
  /** The image itself. */
  image: string;
  thumbnail: string;
  /** The page that shows the image. */
  url: string;
  width: number | null;
  height: number | null;
}

/**
 * A web search backend. Providers return what one results page holds (possibly more than
 * `maxResults`, possibly with duplicates); `SearchService` de-duplicates and cuts.
 */
export abstract class SearchProvider {
  abstract readonly name: string;
  abstract web(query: SearchQuery): Promise<WebResult[]>;
  abstract images(query: SearchQuery): Promise<ImageResult[]>;
}
