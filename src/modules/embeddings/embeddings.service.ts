import { Injectable } from '@nestjs/common';
import type { CancelSignal } from '../../common/async/cancellation';
import { KeyRefusal } from '../../common/errors/limit-errors';
import { ClientClosedError } from '../../common/errors/app-errors';
import { randomHex } from '../../common/ids/random-hex';
import type { EmbedRequest } from '../../core/llm/llm-backend';
import { LlmService, ServedEmbeddings } from '../../core/llm/llm.service';
import type { ConversationSource, ConversationStatus } from '../../core/persistence/conversation.entity';
import { ConversationsService } from '../../core/persistence/conversations.service';
import { storedEmbeddingAnswer, storedEmbeddingRequest } from '../../core/persistence/stored-exchange';

/** An embedding call's vectors and how long Vega took for it. */
export interface EmbeddingOutcome {
  /** The vectors, with the model (the one asked for, or a fallback) and target that made them. */
  result: ServedEmbeddings;
  durationMs: number;
}

/**
 * Embeddings for every dialect (OpenAI's `/v1/embeddings`, Ollama's `/api/embed`): through
 * `LlmService.embed` (breaker, retries, timeout, metrics), each call stored as an exchange of
 * kind `embedding` under the route's source — how many inputs, the tokens read, the vectors'
 * size; never the vectors. A failed or abandoned call is stored too, as `error` or `aborted`.
 */
@Injectable()
export class EmbeddingsService {
  constructor(
    private readonly llm: LlmService,
    private readonly conversations: ConversationsService,
  ) {}

  async embed(request: EmbedRequest, source: ConversationSource, signal: CancelSignal): Promise<EmbeddingOutcome> {
    this.llm.assertAvailable(request.model);
    const started = performance.now();
    let result: ServedEmbeddings;
    try {
      result = await this.llm.embed(request, signal);
    } catch (error) {
      // A refusal of the key's limits comes before the backend is asked: nothing to store.
      if (error instanceof KeyRefusal) throw error;
      const status = error instanceof ClientClosedError || signal.aborted ? 'aborted' : 'error';
      await this.store(request, source, status, started).catch(() => undefined);
      throw error;
    }
    await this.store(request, source, 'ok', started, result);
    return { result, durationMs: performance.now() - started };
  }

  private store(request: EmbedRequest, source: ConversationSource, status: ConversationStatus, started: number, result?: ServedEmbeddings): Promise<number | null> {
    const inputs = request.input.length;
    const dimensions = result?.embeddings[0]?.length;
    return this.conversations.record({
      kind: 'embedding',
      request: storedEmbeddingRequest(request),
      ...(result ? { answer: storedEmbeddingAnswer(result) } : {}),
      prompt: `embeddings: ${inputs} input${inputs === 1 ? '' : 's'}`,
      response: result ? `${result.embeddings.length} vector${result.embeddings.length === 1 ? '' : 's'} of ${dimensions ?? 0} dimensions` : '',
      source,
      sessionId: randomHex(12),
      model: request.model,
      status,
      promptTokens: result?.promptTokens ?? null,
      completionTokens: result ? 0 : null,
      durationMs: Math.round(performance.now() - started),
      ttftMs: null,
      servedModel: result?.model ?? null,
      target: result?.target ?? null,
    });
  }
}
