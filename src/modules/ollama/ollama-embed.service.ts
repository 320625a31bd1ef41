import { Injectable } from '@nestjs/common';
import type { CancelSignal } from '../../common/async/cancellation';
import { EmbeddingsService } from '../embeddings/embeddings.service';
import { embedCallOf, legacyEmbedCallOf } from './ollama-bodies';

/** Ollama's `/api/embed` answer, its fields in Ollama's order; the counters are left out when zero (Go's `omitempty`). */
export interface OllamaEmbedResponse {
  model: string;
  embeddings: number[][];
  total_duration?: number;
  load_duration?: number;
  prompt_eval_count?: number;
}

/**
 * Ollama's embeddings through the shared `EmbeddingsService` (breaker, retries, timeout,
 * metrics; stored as kind `embedding`, source `ollama`, never the vectors). An empty input is
 * answered as Ollama answers it, with no vectors and without asking the backend.
 */
@Injectable()
export class OllamaEmbedService {
  constructor(private readonly embeddings: EmbeddingsService) {}

  /** `POST /api/embed`. The durations are Ollama's own when the backend is Ollama, else Vega's measurement. */
  async embed(body: unknown, signal: CancelSignal): Promise<OllamaEmbedResponse> {
    const call = embedCallOf(body);
    if (call.empty) return { model: call.model, embeddings: [] };
    const { result, durationMs } = await this.embeddings.embed(call.request, 'ollama', signal);
    const answer: OllamaEmbedResponse = { model: result.model, embeddings: result.embeddings };
    const total = result.timings?.totalNs ?? Math.round(durationMs * 1e6);
    if (total > 0) answer.total_duration = total;
    if (result.timings?.loadNs) answer.load_duration = result.timings.loadNs;
    if (result.promptTokens > 0) answer.prompt_eval_count = result.promptTokens;
    return answer;
  }

  /**
   * `POST /api/embeddings` (legacy): `{embedding}` for one `prompt`. The vector comes from the
   * backend's `/api/embed`, so it is L2-normalised (Ollama's legacy route returns it raw).
   */
  async legacy(body: unknown, signal: CancelSignal): Promise<{ embedding: number[] }> {
    const call = legacyEmbedCallOf(body);
    if (call.empty) return { embedding: [] };
    const { result } = await this.embeddings.embed(call.request, 'ollama', signal);
    return { embedding: result.embeddings[0] ?? [] };
  }
}
