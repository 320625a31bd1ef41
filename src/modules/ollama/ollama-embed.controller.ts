import { Body, Controller, HttpCode, Post, Res } from '@nestjs/common';
import { RequireScope } from '../../common/auth/scopes.decorator';
import { ApiBody, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { clientGone } from '../../common/http/client-gone';
import { ApiOllamaModelErrors } from './ollama-api-docs';
import { OllamaEmbedResponse, OllamaEmbedService } from './ollama-embed.service';

/** Ollama's `/api/embed` and the legacy `/api/embeddings`, through Vega's breaker, retries, timeout, metrics and store. */
@ApiTags('ollama')
@RequireScope('chat')
@Controller('api')
export class OllamaEmbedController {
  constructor(private readonly embeddings: OllamaEmbedService) {}

  @Post('embed')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Embeddings (Ollama)',
    description:
      "Ollama's `/api/embed`: one L2-normalised vector per input text, in order, with Ollama's durations (nanoseconds) and `prompt_eval_count`. An empty input gives `embeddings: []`. Token arrays are refused (`invalid input type`), as Ollama does. Stored as an exchange of kind `embedding`, source `ollama` (the inputs, never the vectors).",
  })
  @ApiBody({
    schema: {
      type: 'object',
      required: ['model', 'input'],
      example: { model: 'nomic-embed-text', input: ['The quick brown fox', 'jumps over the lazy dog'] },
      properties: {
        model: { type: 'string', example: 'nomic-embed-text' },
        input: { oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }], example: ['The quick brown fox', 'jumps over the lazy dog'] },
        truncate: { type: 'boolean', description: 'false: an input longer than the context is a 400 instead of being cut.' },
        dimensions: { type: 'integer', description: 'Shorten each vector to this many dimensions.' },
        options: { type: 'object', additionalProperties: true },
        keep_alive: { oneOf: [{ type: 'string' }, { type: 'number' }] },
      },
    },
  })
  @ApiOkResponse({ description: '`{model, embeddings, total_duration, load_duration, prompt_eval_count}`', schema: { type: 'object', additionalProperties: true } })
  @ApiOllamaModelErrors(400, 401, 404, 429, 502, 503, 504)
  embed(@Body() body: unknown, @Res({ passthrough: true }) reply: FastifyReply): Promise<OllamaEmbedResponse> {
    return this.embeddings.embed(body, clientGone(reply));
  }

  @Post('embeddings')
  @HttpCode(200)
  @ApiOperation({
    summary: 'One embedding (Ollama, legacy)',
    description:
      "Ollama's legacy `/api/embeddings` `{model, prompt}` → `{embedding}`. The vector comes from the backend's `/api/embed`, so it is L2-normalised (Ollama's own legacy route returns it unnormalised); an empty prompt gives `embedding: []`.",
  })
  @ApiBody({ schema: { type: 'object', required: ['model', 'prompt'], example: { model: 'nomic-embed-text', prompt: 'The quick brown fox' }, properties: { model: { type: 'string', example: 'nomic-embed-text' }, prompt: { type: 'string', example: 'The quick brown fox' } } } })
  @ApiOkResponse({ schema: { type: 'object', properties: { embedding: { type: 'array', items: { type: 'number' } } } } })
  @ApiOllamaModelErrors(400, 401, 404, 429, 502, 503, 504)
  legacy(@Body() body: unknown, @Res({ passthrough: true }) reply: FastifyReply): Promise<{ embedding: number[] }> {
    return this.embeddings.legacy(body, clientGone(reply));
  }
}
