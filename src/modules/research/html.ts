import type * as Cheerio from 'cheerio';

let cheerio: typeof Cheerio | undefined;

/**
 * Parses an HTML page with cheerio, loaded on first use: it weighs about 7 MB of heap, which a
 * server that only chats never needs.
 */
export function loadHtml(html: string): Cheerio.CheerioAPI {
  cheerio ??= require('cheerio') as typeof Cheerio;
  return cheerio.load(html);
}
