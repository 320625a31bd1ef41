import { Injectable } from '@nestjs/common';
import type { CancelSignal } from '../../common/async/cancellation';
import { ClientClosedError, UnsupportedFieldError } from '../../common/errors/app-errors';
import { randomHex } from '../../common/ids/random-hex';
import type { EmbedRequest, EmbedResult } from '../../core/llm/llm-backend';
import { LlmService } from '../../core/llm/llm.service';
import type { ConversationStatus } from '../../core/persistence/conversation.entity';
import { ConversationsService } from '../../core/persistence/conversations.service';
import { storedEmbeddingAnswer, storedEmbeddingRequest } from '../../core/persistence/stored-exchange';
import { CreateEmbeddingRequestDto, CreateEmbeddingResponseDto } from './dto/embedding.dto';

/**
 * OpenAI's embeddings over `LlmService.embed` (breaker, retries, timeout, metrics). Each call is
 * stored as an exchange — how many inputs, the tokens read, the vectors' size; never the vectors.
 */
@Injectable()
export class OpenAiEmbeddingsService {
  constructor(
    private readonly llm: LlmService,
    private readonly conversations: ConversationsService,
  ) {}

  async create(body: CreateEmbeddingRequestDto, signal: CancelSignal): Promise<CreateEmbeddingResponseDto> {
    const input = texts(body.input, this.llm.backend.kind);
    this.llm.assertAvailable(body.model);
    const started = performance.now();
    const request: EmbedRequest = { model: body.model, input, ...(body.dimensions !== undefined ? { dimensions: body.dimensions } : {}) };
    let result: EmbedResult;
    try {
      result = await this.llm.embed(request, signal);
    } catch (error) {
      const status = error instanceof ClientClosedError || signal.aborted ? 'aborted' : 'error';
      await this.store(request, status, started).catch(() => undefined);
      throw error;
    }
    await this.store(request, 'ok', started, result);
    const base64 = body.encoding_format === 'base64';
    return {
      object: 'list',
      data: result.embeddings.map((vector, index) => ({ object: 'embedding', index, embedding: base64 ? float32Base64(vector) : vector })),
      model: body.model,
      usage: { prompt_tokens: result.promptTokens, total_tokens: result.promptTokens },
    };
  }

  private store(request: EmbedRequest, status: ConversationStatus, started: number, result?: EmbedResult): Promise<number | null> {
    const inputs = request.input.length;
    const dimensions = result?.embeddings[0]?.length;
    return this.conversations.record({
      kind: 'embedding',
      request: storedEmbeddingRequest(request),
      ...(result ? { answer: storedEmbeddingAnswer(result) } : {}),
      prompt: `embeddings: ${inputs} input${inputs === 1 ? '' : 's'}`,
      response: result ? `${result.embeddings.length} vector${result.embeddings.length === 1 ? '' : 's'} of ${dimensions ?? 0} dimensions` : '',
      source: 'openai',
      sessionId: randomHex(12),
      model: request.model,
      status,
      promptTokens: result?.promptTokens ?? null,
      completionTokens: result ? 0 : null,
      durationMs: Math.round(performance.now() - started),
      ttftMs: null,
    });
  }
}

/**
 * The texts to embed. Token ids are refused: what they mean depends on the model's tokenizer,
 * which Vega does not know, and Ollama's `/api/embed` takes text only.
 */
function texts(input: CreateEmbeddingRequestDto['input'], backend: string): string[] {
  if (typeof input === 'string') return [input];
  if (input.every((item) => typeof item === 'string')) return input as string[];
  const who = backend === 'ollama' ? 'Ollama embeds text only' : 'Vega sends text only';
  throw new UnsupportedFieldError('input', `token arrays are not supported (${who}); send the text instead`);
}

/** A vector as OpenAI's `base64` encoding: its float32 values, little-endian, in base64. */
export function float32Base64(vector: readonly number[]): string {
  const bytes = Buffer.allocUnsafe(vector.length * 4);
  for (let i = 0; i < vector.length; i += 1) bytes.writeFloatLE(vector[i]!, i * 4);
  return bytes.toString('base64');
}
