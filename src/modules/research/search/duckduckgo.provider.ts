import { loadHtml } from '../html';
import { UpstreamError } from '../../../common/errors/app-errors';
import { decodeBody, OutboundFetcher, parseJson } from '../../../core/outbound/outbound-fetcher';
import { ImageResult, SafeSearch, SearchProvider, SearchQuery, WebResult } from './search-provider';

/** DuckDuckGo's `kp` (web) and `p` (images) safe-search values. */
const WEB_SAFESEARCH: Record<SafeSearch, string> = { strict: '1', moderate: '-1', off: '-2' };
const IMAGE_SAFESEARCH: Record<SafeSearch, string> = { strict: '1', moderate: '1', off: '-1' };

interface DuckDuckGoImage {
  title?: string;
  image?: string;
  thumbnail?: string;
  url?: string;
  width?: number;
  height?: number;
}

/**
 * DuckDuckGo without an API key: web results from the HTML page (parsed with cheerio; ads and
 * redirect wrappers removed), images from the JSON endpoint behind the images page, which needs
 * the page's `vqd` token first.
 */
export class DuckDuckGoProvider extends SearchProvider {
  readonly name = 'duckduckgo';

  constructor(
    private readonly fetcher: OutboundFetcher,
    private readonly urls: { html: string; base: string },
  ) {
    super();
  }

  async web({ query, safesearch, signal }: SearchQuery): Promise<WebResult[]> {
    const url = new URL(this.urls.html);
    url.searchParams.set('q', query);
    url.searchParams.set('kp', WEB_SAFESEARCH[safesearch]);
    const page = await this.fetcher.fetch(url.href, { accept: ['text/html'], trusted: true, signal });
    if (page.status !== 200) throw new UpstreamError(`DuckDuckGo answered HTTP ${page.status}`);
    return parseHtmlResults(decodeBody(page), this.urls.html);
  }

  async images({ query, safesearch, signal }: SearchQuery): Promise<ImageResult[]> {
    const vqd = await this.vqd(query, signal);
    const url = new URL('/i.js', this.urls.base);
    for (const [name, value] of Object.entries({ l: 'us-en', o: 'json', q: query, vqd, f: ',,,,,', p: IMAGE_SAFESEARCH[safesearch] })) {
      url.searchParams.set(name, value);
    }
    const answer = await this.fetcher.fetch(url.href, {
      accept: ['application/json', 'application/x-javascript', 'text/javascript'],
      headers: { referer: `${this.urls.base}/` },
      trusted: true,
      signal,
    });
    if (answer.status !== 200) throw new UpstreamError(`DuckDuckGo images answered HTTP ${answer.status}`);
    const json = parseJson<{ results?: DuckDuckGoImage[] }>(decodeBody(answer), 'DuckDuckGo images');
    return (json.results ?? [])
      .filter((item) => item.image && item.url)
      .map((item) => ({
        title: item.title ?? '',
        image: item.image!,
        thumbnail: item.thumbnail ?? '',
        url: item.url!,
        width: item.width ?? null,
        height: item.height ?? null,
      }));
  }

  /** The per-query token the image endpoint requires, read from the images page. */
  private async vqd(query: string, signal?: AbortSignal): Promise<string> {
    const url = new URL('/', this.urls.base);
    url.searchParams.set('q', query);
    url.searchParams.set('iax', 'images');
    url.searchParams.set('ia', 'images');
    const page = await this.fetcher.fetch(url.href, { accept: ['text/html'], trusted: true, signal });
    const token = /vqd=["']?(\d+-[\d-]+)/.exec(decodeBody(page))?.[1];
    if (page.status !== 200 || !token) {
      throw new UpstreamError(`DuckDuckGo did not hand out an image search token (HTTP ${page.status})`);
    }
    return token;
  }
}

/** Organic results of DuckDuckGo's HTML page; ads and links that stay on DuckDuckGo are skipped. */
export function parseHtmlResults(html: string, pageUrl: string): WebResult[] {
  const $ = loadHtml(html);
  const results: WebResult[] = [];
  $('div.result').each((_, element) => {
    const result = $(element);
    if (result.hasClass('result--ad')) return;
    const link = result.find('a.result__a').first();
    const href = unwrapRedirect(link.attr('href'), pageUrl);
    if (!href) return;
    results.push({
      title: squash(link.text()),
      href,
      snippet: squash(result.find('.result__snippet').first().text()),
      source: 'duckduckgo',
    });
  });
  return results;
}

/** `//duckduckgo.com/l/?uddg=<target>` → the target; ad links (`y.js`) and other internal links → undefined. */
function unwrapRedirect(href: string | undefined, pageUrl: string): string | undefined {
  if (!href) return undefined;
  let url: URL;
  try {
    url = new URL(href, pageUrl);
  } catch {
    return undefined;
  }
  const target = url.searchParams.get('uddg');
  if (url.pathname === '/l/' && target) return target;
  if (url.hostname.endsWith('duckduckgo.com') || url.origin === new URL(pageUrl).origin) return undefined;
  return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : undefined;
}

function squash(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}
