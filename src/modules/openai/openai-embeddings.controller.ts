import { Body, Controller, HttpCode, Post, Res } from '@nestjs/common';
import { RequireScope } from '../../common/auth/scopes.decorator';
import { ApiBody, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { clientGone } from '../../common/http/client-gone';
import { CreateEmbeddingRequestDto, CreateEmbeddingResponseDto } from './dto/embedding.dto';
import { ApiOpenAiErrors } from './dto/openai-error.dto';
import { OpenAiEmbeddingsService } from './openai-embeddings.service';

/** `POST /v1/embeddings`: OpenAI's embeddings, so the SDKs' `embeddings.create()` works against Vega. */
@ApiTags('openai')
@RequireScope('chat')
@Controller('v1')
export class OpenAiEmbeddingsController {
  constructor(private readonly embeddings: OpenAiEmbeddingsService) {}

  @Post('embeddings')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Embeddings (OpenAI-compatible)',
    description:
      "One vector per input text, in order, from the backend's embedding model (Ollama `/api/embed`), through the same circuit breaker, retries, timeout, metrics, key and rate limit as the chat routes. `encoding_format: \"base64\"` (the OpenAI SDKs' default) gives each vector as the base64 of its little-endian float32 bytes. A model that cannot embed is a 400 with the backend's reason. Each call is stored as an exchange (source `openai`): the number of inputs, the tokens read and the vectors' size, never the vectors.",
  })
  @ApiBody({
    type: CreateEmbeddingRequestDto,
    examples: { texts: { summary: 'Two texts', value: { model: 'nomic-embed-text', input: ['The quick brown fox', 'jumps over the lazy dog'], encoding_format: 'float' } } },
  })
  @ApiOkResponse({ type: CreateEmbeddingResponseDto })
  @ApiOpenAiErrors(400, 401, 404, 413, 429, 502, 503, 504)
  create(@Body() body: CreateEmbeddingRequestDto, @Res({ passthrough: true }) reply: FastifyReply): Promise<CreateEmbeddingResponseDto> {
    return this.embeddings.create(body, clientGone(reply));
  }
}
