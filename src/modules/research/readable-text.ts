import { loadHtml } from './html';

/** Page furniture that is not the article. */
const NOISE =
  'script, style, noscript, template, svg, canvas, iframe, form, nav, footer, aside, body > header, [role="banner"], [role="navigation"], [aria-hidden="true"]';
const BLOCKS = 'h1, h2, h3, h4, h5, h6, p, li, pre, blockquote, dt, dd, figcaption, td, th';

export interface ReadablePage {
  title: string;
  text: string;
}

/**
 * The readable text of an HTML page: scripts, styles, navigation, headers and footers dropped;
 * headings, paragraphs, list items and the like kept one per line with whitespace collapsed;
 * at most `maxChars` characters (cut at a word, ending with "…").
 */
export function readableText(html: string, maxChars: number): ReadablePage {
  const $ = loadHtml(html);
  const title = collapse($('title').first().text()) || collapse($('h1').first().text());
  $(NOISE).remove();
  const root = $('main, article').first().length ? $('main, article').first() : $('body');
  const lines: string[] = [];
  root.find(BLOCKS).each((_, element) => {
    // A block inside another kept block (a <p> in an <li>) is part of its parent's text.
    if ($(element).parents(BLOCKS).length > 0) return;
    const line = collapse($(element).text());
    if (line) lines.push(line);
  });
  const text = lines.length > 0 ? lines.join('\n') : collapse(root.text());
  return { title, text: cap(text, maxChars) };
}

/** Plain text pages: whitespace collapsed per line, capped like HTML. */
export function plainText(text: string, maxChars: number): string {
  return cap(
    text
      .split(/\r?\n/)
      .map(collapse)
      .filter(Boolean)
      .join('\n'),
    maxChars,
  );
}

export function collapse(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

export function cap(text: string, maxChars: number): string {
  if (text.length <= maxChars) return text;
  const cut = text.slice(0, maxChars - 1);
  const space = cut.lastIndexOf(' ');
  return `${space > maxChars * 0.8 ? cut.slice(0, space) : cut}…`;
}

/**
 * At most `maxChars` of `text` around the passage with the most distinct query words (3+
 * letters), so a snippet shows why its chunk was picked; marked with "…" where cut.
 */
export function snippetAround(text: string, query: string, maxChars: number): string {
  if (text.length <= maxChars) return text;
  const lower = text.toLowerCase();
  const words = [...new Set(query.toLowerCase().split(/[^\p{L}\p{N}]+/u).filter((word) => word.length >= 3))];
  const lead = Math.floor(maxChars / 3);
  let best = { start: 0, count: 0 };
  for (const word of words) {
    for (let at = lower.indexOf(word); at >= 0; at = lower.indexOf(word, at + 1)) {
      const start = Math.max(0, Math.min(at - lead, text.length - maxChars));
      const window = lower.slice(start, start + maxChars);
      const count = words.filter((other) => window.includes(other)).length;
      if (count > best.count) best = { start, count };
    }
  }
  let start = best.start;
  if (start > 0) {
    const space = text.indexOf(' ', start);
    if (space >= 0 && space - start < lead) start = space + 1;
  }
  const window = cap(text.slice(start), start > 0 ? maxChars - 1 : maxChars);
  return start > 0 ? `…${window}` : window;
}
