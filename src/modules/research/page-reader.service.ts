import { Injectable } from '@nestjs/common';
import { mapLimit } from '../../common/async/map-limit';
import { describeError } from '../../common/errors/all-exceptions.filter';
import { decodeBody, OutboundFetcher } from '../../core/outbound/outbound-fetcher';
import { plainText, readableText } from './readable-text';
import type { WebResult } from './search/search-provider';

/** Pages fetched at once; a research request reads at most 10 (so at most two waves). */
export const PAGE_CONCURRENCY = 5;
/** Bytes read of one page: its start holds the article; the rest is cut, not refused. */
const PAGE_BYTES = 1_000_000;
const TEXT_TYPES = ['text/html', 'application/xhtml+xml', 'text/plain'];

export interface ReadPage {
  /** Position in the search results, from 1: the `[n]` the model cites. */
  n: number;
  result: WebResult;
  title: string;
  /** The page's readable text ('' when it could not be read). */
  text: string;
  /** Why the page could not be read (the error's message), else null. */
  error: string | null;
}

/** Fetches search results' pages concurrently (bounded) through the guarded fetcher and extracts their text. */
@Injectable()
export class PageReaderService {
  constructor(private readonly fetcher: OutboundFetcher) {}

  read(results: readonly WebResult[], maxChars: number, signal?: AbortSignal): Promise<ReadPage[]> {
    return mapLimit(results, PAGE_CONCURRENCY, async (result, index): Promise<ReadPage> => {
      const page = { n: index + 1, result, title: result.title };
      try {
        const fetched = await this.fetcher.fetch(result.href, { accept: TEXT_TYPES, truncate: true, maxBytes: PAGE_BYTES, signal });
        if (fetched.status < 200 || fetched.status >= 300) return { ...page, text: '', error: `HTTP ${fetched.status}` };
        if (fetched.mediaType === 'text/plain') return { ...page, text: plainText(decodeBody(fetched), maxChars), error: null };
        const readable = readableText(decodeBody(fetched), maxChars);
        return { ...page, title: result.title || readable.title, text: readable.text, error: readable.text ? null : 'no readable text' };
      } catch (error) {
        if (signal?.aborted) throw signal.reason;
        return { ...page, text: '', error: describeError(error).body.message };
      }
    });
  }
}
