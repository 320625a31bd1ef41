import { Injectable, Logger } from '@nestjs/common';
import { AppConfig } from '../../config/app-config';
import { describeError } from '../../common/errors/all-exceptions.filter';
import { GenerationSettingsService } from '../../core/llm/generation-settings.service';
import { LlmService } from '../../core/llm/llm.service';
import { bm25Scores, chunkText, cosineSimilarity } from './chunking';
import { PageReaderService } from './page-reader.service';
import { snippetAround } from './readable-text';
import { SearchService } from './search/search.service';

const SUMMARY_PAGE_CHARS = 3_000;
const RAG_PAGE_CHARS = 20_000;
const CHUNK_CHARS = 800;
const CHUNK_OVERLAP = 200;
const TOP_CHUNKS = 6;
/** Chunks sent to the embedding model: the best by BM25, so one request stays small. */
const EMBED_CANDIDATES = 48;
const EMBED_WEIGHT = 0.5;
const SNIPPET_CHARS = 300;

const CITE_RULES =
  'Answer only from the numbered sources below. Cite every statement with the number of its source in square brackets, like [1] or [2][3]. If the sources do not answer the question, say so plainly.';

export interface SummarizeItem {
  n: number;
  title: string;
  href: string;
  snippet: string;
  source: string;
  /** Characters of page text given to the model (0 when the page failed). */
  chars: number;
  error: string | null;
}

export interface RagSource {
  n: number;
  url: string;
  title: string;
  snippet: string;
}

export type Ranking = 'bm25' | 'bm25+embeddings';

export interface ResearchQuery {
  query: string;
  maxResults: number;
  signal: AbortSignal;
}

/** Search, read the pages, and have the model answer with `[n]` citations. */
@Injectable()
export class ResearchService {
  private readonly logger = new Logger(ResearchService.name);

  constructor(
    private readonly config: AppConfig,
    private readonly search: SearchService,
    private readonly pages: PageReaderService,
    private readonly llm: LlmService,
    private readonly generation: GenerationSettingsService,
  ) {}

  async summarize({ query, maxResults, signal }: ResearchQuery): Promise<{ summary: string; items: SummarizeItem[] }> {
    this.llm.assertAvailable();
    const results = await this.search.web({ query, maxResults, safesearch: 'moderate', signal });
    if (results.length === 0) return { summary: `No search results for "${query}".`, items: [] };
    const read = await this.pages.read(results, SUMMARY_PAGE_CHARS, signal);
    const sources = read.map((page) => {
      const body = page.text || (page.result.snippet ? `(The page could not be read; its search snippet:) ${page.result.snippet}` : '(The page could not be read.)');
      return `[${page.n}] ${page.title} (${page.result.href})\n${body}`;
    });
    const summary = await this.complete(
      `You are a research assistant. ${CITE_RULES}`,
      `Question: ${query}\n\nSources:\n\n${sources.join('\n\n')}\n\nWrite a concise summary (one to three paragraphs) that answers the question, citing the sources as [n].`,
      signal,
    );
    return {
      summary,
      items: read.map((page) => ({
        n: page.n,
        title: page.title,
        href: page.result.href,
        snippet: page.result.snippet,
        source: page.result.source,
        chars: page.text.length,
        error: page.error,
      })),
    };
  }

  async rag({ query, maxResults, signal }: ResearchQuery): Promise<{
    summary: string;
    sources: RagSource[];
    ranking: Ranking;
    failed: { url: string; error: string }[];
  }> {
    this.llm.assertAvailable();
    const results = await this.search.web({ query, maxResults, safesearch: 'moderate', signal });
    const read = await this.pages.read(results, RAG_PAGE_CHARS, signal);
    const failed = read.filter((page) => page.error).map((page) => ({ url: page.result.href, error: page.error! }));
    // A page that could not be read still offers its search snippet.
    const chunks = read.flatMap((page) =>
      chunkText(page.text || page.result.snippet, CHUNK_CHARS, CHUNK_OVERLAP).map((text) => ({ page, text })),
    );
    if (chunks.length === 0) {
      const summary = results.length === 0 ? `No search results for "${query}".` : `None of the ${results.length} results for "${query}" had readable text.`;
      return { summary, sources: [], ranking: 'bm25', failed };
    }
    const { scores, ranking } = await this.rank(
      query,
      chunks.map((chunk) => chunk.text),
      signal,
    );
    const top = chunks
      .map((chunk, index) => ({ ...chunk, score: scores[index] }))
      .sort((a, b) => b.score - a.score)
      .slice(0, TOP_CHUNKS);
    const sources = top.map((chunk, index) => ({
      n: index + 1,
      url: chunk.page.result.href,
      title: chunk.page.title,
      snippet: snippetAround(chunk.text, query, SNIPPET_CHARS),
    }));
    const excerpts = top.map((chunk, index) => `[${index + 1}] ${chunk.page.title} (${chunk.page.result.href})\n${chunk.text}`);
    const summary = await this.complete(
      `You answer questions from excerpts of web pages. ${CITE_RULES}`,
      `Question: ${query}\n\nSources:\n\n${excerpts.join('\n\n')}\n\nAnswer the question, citing the sources as [n].`,
      signal,
    );
    return { summary, sources, ranking, failed };
  }

  /** BM25 over every chunk; with EMBED_MODEL, cosine similarity of the best candidates blended in. */
  private async rank(query: string, texts: string[], signal: AbortSignal): Promise<{ scores: number[]; ranking: Ranking }> {
    const scores = bm25Scores(texts, query);
    const model = this.config.research.embedModel;
    if (!model) return { scores, ranking: 'bm25' };
    const candidates = texts
      .map((_, index) => index)
      .sort((a, b) => scores[b] - scores[a])
      .slice(0, EMBED_CANDIDATES);
    let vectors: number[][];
    try {
      ({ embeddings: vectors } = await this.llm.embed({ model, input: [query, ...candidates.map((index) => texts[index])] }, signal));
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      this.logger.warn(`Embeddings unavailable (${describeError(error).body.message}); ranking by BM25 only`);
      return { scores, ranking: 'bm25' };
    }
    const [queryVector, ...chunkVectors] = vectors;
    const blended = scores.map((score) => (1 - EMBED_WEIGHT) * score);
    candidates.forEach((index, i) => {
      blended[index] += EMBED_WEIGHT * Math.max(0, cosineSimilarity(queryVector, chunkVectors[i]));
    });
    return { scores: blended, ranking: 'bm25+embeddings' };
  }

  private async complete(system: string, prompt: string, signal: AbortSignal): Promise<string> {
    const request = {
      model: this.config.llm.model,
      messages: [
        { role: 'system' as const, content: system },
        { role: 'user' as const, content: prompt },
      ],
      options: this.generation.optionsFor(prompt),
    };
    let text = '';
    for await (const event of this.llm.stream(request, signal)) if (event.type === 'token') text += event.text;
    return text.trim();
  }
}

