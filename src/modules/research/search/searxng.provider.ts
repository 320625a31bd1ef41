import { UpstreamError } from '../../../common/errors/app-errors';
import { decodeBody, OutboundFetcher, parseJson } from '../../../core/outbound/outbound-fetcher';
import { ImageResult, SafeSearch, SearchProvider, SearchQuery, WebResult } from './search-provider';

const SAFESEARCH: Record<SafeSearch, string> = { off: '0', moderate: '1', strict: '2' };

interface SearxResult {
  url?: string;
  title?: string;
  content?: string;
  img_src?: string;
  thumbnail_src?: string;
  resolution?: string;
}

/** A SearXNG instance through its JSON API (`format=json` must be enabled in its `search.formats`). */
export class SearxngProvider extends SearchProvider {
  readonly name = 'searxng';

  constructor(
    private readonly fetcher: OutboundFetcher,
    private readonly baseUrl: string,
  ) {
    super();
  }

  async web(query: SearchQuery): Promise<WebResult[]> {
    const results = await this.search(query, 'general');
    return results
      .filter((item) => item.url)
      .map((item) => ({ title: item.title ?? '', href: item.url!, snippet: item.content ?? '', source: 'searxng' }));
  }

  async images(query: SearchQuery): Promise<ImageResult[]> {
    const results = await this.search(query, 'images');
    return results
      .filter((item) => item.img_src && item.url)
      .map((item) => {
        const [width, height] = parseResolution(item.resolution);
        return {
          title: item.title ?? '',
          image: absolute(item.img_src!),
          thumbnail: item.thumbnail_src ? absolute(item.thumbnail_src) : '',
          url: item.url!,
          width,
          height,
        };
      });
  }

  private async search({ query, safesearch, signal }: SearchQuery, categories: string): Promise<SearxResult[]> {
    const url = new URL(`${this.baseUrl}/search`);
    for (const [name, value] of Object.entries({ q: query, format: 'json', categories, safesearch: SAFESEARCH[safesearch] })) {
      url.searchParams.set(name, value);
    }
    const answer = await this.fetcher.fetch(url.href, { accept: ['application/json'], trusted: true, signal });
    if (answer.status === 403) {
      throw new UpstreamError('SearXNG refused the JSON format: enable "json" in search.formats of its settings.yml');
    }
    if (answer.status !== 200) throw new UpstreamError(`SearXNG answered HTTP ${answer.status}`);
    return parseJson<{ results?: SearxResult[] }>(decodeBody(answer), 'SearXNG').results ?? [];
  }
}

/** "1600 x 1200" or "1200x630" → [width, height]. */
function parseResolution(text: string | undefined): [number | null, number | null] {
  const match = /^\s*(\d+)\s*[x×]\s*(\d+)\s*$/i.exec(text ?? '');
  return match ? [Number(match[1]), Number(match[2])] : [null, null];
}

/** Some engines give protocol-relative image URLs. */
function absolute(url: string): string {
  return url.startsWith('//') ? `https:${url}` : url;
}
