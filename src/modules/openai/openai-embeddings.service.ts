import { Injectable } from '@nestjs/common';
import type { CancelSignal } from '../../common/async/cancellation';
import { UnsupportedFieldError } from '../../common/errors/app-errors';
import type { EmbedRequest } from '../../core/llm/llm-backend';
import { LlmService } from '../../core/llm/llm.service';
import { EmbeddingsService } from '../embeddings/embeddings.service';
import { CreateEmbeddingRequestDto, CreateEmbeddingResponseDto } from './dto/embedding.dto';

/** OpenAI's embeddings over the shared `EmbeddingsService` (stored with source `openai`). */
@Injectable()
export class OpenAiEmbeddingsService {
  constructor(
    private readonly embeddings: EmbeddingsService,
    private readonly llm: LlmService,
  ) {}

  async create(body: CreateEmbeddingRequestDto, signal: CancelSignal): Promise<CreateEmbeddingResponseDto> {
    const input = texts(body.input, this.llm.backendKind);
    const request: EmbedRequest = { model: body.model, input, ...(body.dimensions !== undefined ? { dimensions: body.dimensions } : {}) };
    const { result } = await this.embeddings.embed(request, 'openai', signal);
    const base64 = body.encoding_format === 'base64';
    return {
      object: 'list',
      data: result.embeddings.map((vector, index) => ({ object: 'embedding', index, embedding: base64 ? float32Base64(vector) : vector })),
      model: result.model,
      usage: { prompt_tokens: result.promptTokens, total_tokens: result.promptTokens },
    };
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
