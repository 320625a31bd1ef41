import type { RagSource, Ranking, SummarizeItem } from '../../modules/research/research.service';
import type { ImageResult, WebResult } from '../../modules/research/search/search-provider';
import { Output } from '../output/output';
import { Column, renderTable } from '../output/table';

/** Web results: number, title (cut to the terminal) and URL. */
export function printWebResults(out: Output, items: WebResult[]): void {
  const columns: Column<WebResult>[] = [
    { header: '#', value: (item) => String(items.indexOf(item) + 1), align: 'right' },
    { header: 'URL', value: (item) => item.href },
    { header: 'TITLE', value: (item) => item.title, flex: true },
  ];
  out.write(renderTable(items, columns, { width: out.width, header: out.colour.dim }));
}

/** Images: number, size, image URL and title. */
export function printImageResults(out: Output, items: ImageResult[]): void {
  const columns: Column<ImageResult>[] = [
    { header: '#', value: (item) => String(items.indexOf(item) + 1), align: 'right' },
    { header: 'SIZE', value: (item) => (item.width && item.height ? `${item.width}x${item.height}` : '-'), align: 'right' },
    { header: 'IMAGE', value: (item) => item.image },
    { header: 'TITLE', value: (item) => item.title, flex: true },
  ];
  out.write(renderTable(items, columns, { width: out.width, header: out.colour.dim }));
}

/** The summary, then its sources as `[n]`, with the pages that could not be read marked. */
export function printSummary(out: Output, answer: { summary: string; items: SummarizeItem[] }): void {
  const c = out.colour;
  out.line(answer.summary.trim());
  out.line();
  const columns: Column<SummarizeItem>[] = [
    { header: 'SOURCE', value: (item) => `[${item.n}]`, align: 'right' },
    { header: 'URL', value: (item) => item.href },
    { header: 'READ', value: (item) => (item.error === null ? `${item.chars} chars` : c.yellow('failed')), align: 'right' },
    { header: 'TITLE', value: (item) => (item.error === null ? item.title : `${item.title} (${item.error})`), flex: true },
  ];
  out.write(renderTable(answer.items, columns, { width: out.width, header: c.dim }));
}

/** The RAG answer, then the passages it was given as `[n]`, and the pages that failed. */
export function printRagAnswer(
  out: Output,
  answer: { summary: string; sources: RagSource[]; ranking: Ranking; failed: { url: string; error: string }[] },
): void {
  const c = out.colour;
  out.line(answer.summary.trim());
  out.line();
  const columns: Column<RagSource>[] = [
    { header: 'SOURCE', value: (source) => `[${source.n}]`, align: 'right' },
    { header: 'URL', value: (source) => source.url },
    { header: 'TITLE', value: (source) => source.title, flex: true },
  ];
  out.write(renderTable(answer.sources, columns, { width: out.width, header: c.dim }));
  for (const page of answer.failed) out.line(c.yellow(`not read: ${page.url} (${page.error})`));
  out.note(`ranked by ${answer.ranking}`);
}
