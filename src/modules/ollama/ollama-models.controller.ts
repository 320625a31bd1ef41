import { Body, Controller, Get, HttpCode, Post, Res } from '@nestjs/common';
import { RequireScope } from '../../common/auth/scopes.decorator';
import { ApiBody, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { clientGoneSignal } from '../../common/http/client-gone';
import type { OllamaJson } from '../../core/llm/llm-backend';
import { ApiOllamaModelErrors } from './ollama-api-docs';
import { showRequestOf } from './ollama-bodies';
import { OllamaModelsService } from './ollama-models.service';

const LIST_SCHEMA = { type: 'object', properties: { models: { type: 'array', items: { type: 'object', additionalProperties: true } } } };

/**
 * Ollama's `/api/tags`, `/api/ps`, `/api/show` and `/api/version` at their own paths, so Ollama
 * clients (ollama-js, the Python client, LangChain, Open WebUI) see Vega as their Ollama.
 */
@ApiTags('ollama')
@RequireScope('chat')
@Controller('api')
export class OllamaModelsController {
  constructor(private readonly models: OllamaModelsService) {}

  @Get('tags')
  @ApiOperation({
    summary: 'List models (Ollama)',
    description:
      "Ollama's `/api/tags`: the models of every `OLLAMA_URL` host, each name once (the first host in order that has it), as each host lists them. A host that is down leaves its models out. On an OpenAI-compatible backend: its `/models`, with Ollama's fields zero where the OpenAI API says nothing. `HEAD` answers the same status without a body.",
  })
  @ApiOkResponse({ description: '`{models: [{name, model, modified_at, size, digest, details}]}`', schema: LIST_SCHEMA })
  @ApiOllamaModelErrors(401, 429, 502, 503, 504)
  tags(@Res({ passthrough: true }) reply: FastifyReply): Promise<{ models: OllamaJson[] }> {
    return this.models.tags(clientGoneSignal(reply));
  }

  @Get('ps')
  @ApiOperation({
    summary: 'Running models (Ollama)',
    description:
      "Ollama's `/api/ps`: the models loaded on every `OLLAMA_URL` host, each once, the one kept loaded longest first. On an OpenAI-compatible backend, which cannot say what is loaded: `{\"models\": []}`.",
  })
  @ApiOkResponse({ description: '`{models: [{name, model, size, digest, details, expires_at, size_vram, context_length}]}`', schema: LIST_SCHEMA })
  @ApiOllamaModelErrors(401, 429, 502, 503, 504)
  running(@Res({ passthrough: true }) reply: FastifyReply): Promise<{ models: OllamaJson[] }> {
    return this.models.running(clientGoneSignal(reply));
  }

  @Post('show')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Show a model (Ollama)',
    description:
      "Ollama's `/api/show`: the object of the first `OLLAMA_URL` host that has the model, as it sent it (Modelfile, parameters, template, details, model_info, capabilities…); 404 `{\"error\": \"model '…' not found\"}` when none has. On an OpenAI-compatible backend: a model its `/models` lists gets empty details (the OpenAI API tells nothing else).",
  })
  @ApiBody({
    schema: {
      type: 'object',
      required: ['model'],
      example: { model: 'mistral' },
      properties: { model: { type: 'string', example: 'mistral' }, verbose: { type: 'boolean', description: 'Every tensor and the full model_info.' } },
    },
  })
  @ApiOkResponse({ description: "Ollama's ShowResponse, relayed as is.", schema: { type: 'object', additionalProperties: true } })
  @ApiOllamaModelErrors(400, 401, 404, 429, 502, 503, 504)
  show(@Body() body: unknown, @Res({ passthrough: true }) reply: FastifyReply): Promise<OllamaJson> {
    return this.models.show(showRequestOf(body), clientGoneSignal(reply));
  }

  @Get('version')
  @ApiOperation({
    summary: 'Version (Ollama)',
    description: `Ollama's \`/api/version\`: the version of the first \`OLLAMA_URL\` host that answers. On an OpenAI-compatible backend: the Ollama API version Vega's Ollama routes follow.`,
  })
  @ApiOkResponse({ schema: { type: 'object', properties: { version: { type: 'string', example: '0.12.6' } } } })
  @ApiOllamaModelErrors(401, 429, 502, 503, 504)
  version(@Res({ passthrough: true }) reply: FastifyReply): Promise<{ version: string }> {
    return this.models.version(clientGoneSignal(reply));
  }
}
