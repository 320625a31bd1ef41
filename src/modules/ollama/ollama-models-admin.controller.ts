import { Body, Controller, Delete, Head, Param, Post, Req, Res, UseFilters } from '@nestjs/common';
import { ApiBody, ApiConsumes, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { ApiOllamaErrors } from './dto/ollama-error.dto';
import type { FastifyReply } from 'fastify';
import { AdminOnly } from '../../common/auth/scopes.decorator';
import type { AuthenticatedRequest } from '../../common/auth/api-key.guard';
import { clientContentType } from './ollama-models-admin.body';
import { modelsNamed, modelOf, stringField } from './ollama-models-admin.models';
import { ScopeRefusalAuditFilter } from './ollama-models-admin.refusal-filter';
import { digestRefusal, ModelAdminCall, OllamaModelsAdminService } from './ollama-models-admin.service';

const PASSED_ON =
  'Passed through to the first `OLLAMA_URL` host that answers, body and answer as Ollama has them (its progress lines as NDJSON as they come, or with `stream: false` its one final object); for admin keys only, and recorded in the audit log (`GET /admin/audit`).';

/** A body Vega does not read, documented by Ollama; the example is what Ollama's documentation shows. */
const ollamaBody = (description: string, example: Record<string, unknown>) =>
  ApiBody({ description: `${description} Ollama's own request body (see Ollama's API documentation).`, schema: { type: 'object', additionalProperties: true, example } });

/**
 * Ollama's model management at Ollama's paths, for admin keys only, passed through to the
 * first `OLLAMA_URL` host that answers, and audited (`GET /admin/audit`). In the OpenAPI document
 * with Ollama's bodies as free-form objects; the document's checks never send their examples.
 */
@ApiTags('ollama')
@ApiOllamaErrors(400, 401, 403, 404, 429, 503)
@AdminOnly()
@UseFilters(ScopeRefusalAuditFilter)
@Controller('api')
export class OllamaModelsAdminController {
  constructor(private readonly admin: OllamaModelsAdminService) {}

  @Post('pull')
  @ApiOperation({ summary: 'Pull a model (Ollama)', description: `Downloads a model from the registry onto the Ollama host. ${PASSED_ON}` })
  @ollamaBody('The model to pull.', { model: 'llama3.2', stream: true })
  @ApiOkResponse({ description: 'Progress lines (`{status, digest?, total?, completed?}`) then `{"status": "success"}`.' })
  pull(@Body() body: unknown, @Req() request: AuthenticatedRequest, @Res() reply: FastifyReply): Promise<void> {
    return this.admin.relay(this.call(request, 'POST', '/api/pull', body, modelOf(body)), reply);
  }

  @Post('push')
  @ApiOperation({ summary: 'Push a model (Ollama)', description: `Uploads a model to a registry. ${PASSED_ON}` })
  @ollamaBody('The model to push (`namespace/model:tag`).', { model: 'me/support-bot:latest', stream: true })
  @ApiOkResponse({ description: 'Progress lines, then `{"status": "success"}`.' })
  push(@Body() body: unknown, @Req() request: AuthenticatedRequest, @Res() reply: FastifyReply): Promise<void> {
    return this.admin.relay(this.call(request, 'POST', '/api/push', body, modelOf(body)), reply);
  }

  @Post('create')
  @ApiOperation({ summary: 'Create a model (Ollama)', description: `Makes a model from another one, uploaded blobs (\`files\`, \`adapters\`), a system prompt, parameters… ${PASSED_ON}` })
  @ollamaBody('The new model and what it is made from.', { model: 'support-bot', from: 'llama3.2', system: 'You answer support questions.' })
  @ApiOkResponse({ description: 'Progress lines, then `{"status": "success"}`.' })
  create(@Body() body: unknown, @Req() request: AuthenticatedRequest, @Res() reply: FastifyReply): Promise<void> {
    const from = stringField(body, 'from');
    return this.admin.relay({ ...this.call(request, 'POST', '/api/create', body, modelOf(body)), detail: from && `from ${from}` }, reply);
  }

  @Post('copy')
  @ApiOperation({ summary: 'Copy a model (Ollama)', description: `Gives a model a second name. ${PASSED_ON}` })
  @ollamaBody('The model and its new name.', { source: 'llama3.2', destination: 'llama3.2-backup' })
  @ApiOkResponse({ description: 'Copied (no body).' })
  copy(@Body() body: unknown, @Req() request: AuthenticatedRequest, @Res() reply: FastifyReply): Promise<void> {
    return this.admin.relay(this.call(request, 'POST', '/api/copy', body, modelsNamed('/api/copy', body)), reply);
  }

  @Delete('delete')
  @ApiOperation({ summary: 'Delete a model (Ollama)', description: `Removes a model from the Ollama host. ${PASSED_ON}` })
  @ollamaBody('The model to delete.', { model: 'llama3.2-backup' })
  @ApiOkResponse({ description: 'Deleted (no body).' })
  remove(@Body() body: unknown, @Req() request: AuthenticatedRequest, @Res() reply: FastifyReply): Promise<void> {
    return this.admin.relay(this.call(request, 'DELETE', '/api/delete', body, modelOf(body)), reply);
  }

  @Head('blobs/:digest')
  @ApiOperation({ summary: 'Whether a blob exists (Ollama)', description: `200 when the Ollama host has the file of that digest, 404 otherwise. ${PASSED_ON}` })
  @ApiParam({ name: 'digest', description: 'The file\'s `sha256:<64 hex>`.', example: 'sha256:29fdb92e57cf0827ded04ae6461b5931d01fa595843f55d36f5b275a52087dd2' })
  @ApiOkResponse({ description: 'The blob exists.' })
  hasBlob(@Param('digest') digest: string, @Req() request: AuthenticatedRequest, @Res() reply: FastifyReply): Promise<void> {
    return this.admin.relay({ ...this.call(request, 'HEAD', `/api/blobs/${digest}`, undefined, []), route: 'HEAD /api/blobs/:digest', detail: digest, refusal: digestRefusal(digest) }, reply);
  }

  /** The body is the file itself, streamed through unread (see `registerModelAdminBodies`). */
  @Post('blobs/:digest')
  @ApiOperation({
    summary: 'Upload a blob (Ollama)',
    description: `The file's bytes, streamed through to Ollama unread and unbuffered (no body limit), for a later \`/api/create\`. ${PASSED_ON}`,
  })
  @ApiParam({ name: 'digest', description: 'The `sha256:<64 hex>` of the bytes; Ollama refuses a mismatch with 400.', example: 'sha256:29fdb92e57cf0827ded04ae6461b5931d01fa595843f55d36f5b275a52087dd2' })
  @ApiConsumes('application/octet-stream')
  @ApiBody({ description: 'The file (a GGUF model, a safetensors adapter…).', schema: { type: 'string', format: 'binary', example: 'GGUF…' } })
  @ApiOkResponse({ description: 'Stored (201 from Ollama, passed on).' })
  pushBlob(@Param('digest') digest: string, @Req() request: AuthenticatedRequest, @Res() reply: FastifyReply): Promise<void> {
    const length = request.headers['content-length'];
    const headers: Record<string, string> = { 'content-type': clientContentType(request) ?? 'application/octet-stream' };
    if (length !== undefined) headers['content-length'] = length;
    const size = length === undefined ? '' : ` (${length} bytes)`;
    return this.admin.relay(
      {
        ...this.call(request, 'POST', `/api/blobs/${digest}`, undefined, []),
        route: 'POST /api/blobs/:digest',
        stream: request.raw,
        headers,
        detail: `${digest}${size}`,
        refusal: digestRefusal(digest),
      },
      reply,
    );
  }

  private call(request: AuthenticatedRequest, method: ModelAdminCall['method'], path: string, body: unknown, models: string[]): ModelAdminCall {
    return { route: `${method} ${path}`, method, path, keyId: request.principal?.keyId ?? 'unknown', body, models };
  }
}
