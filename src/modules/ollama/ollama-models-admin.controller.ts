import { Body, Controller, Delete, Head, Param, Post, Req, Res, UseFilters } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { AdminOnly } from '../../common/auth/admin-only.decorator';
import type { AuthenticatedRequest } from '../../common/auth/api-key.guard';
import { clientContentType } from './ollama-models-admin.body';
import { modelsNamed, modelOf, stringField } from './ollama-models-admin.models';
import { ScopeRefusalAuditFilter } from './ollama-models-admin.refusal-filter';
import { digestRefusal, ModelAdminCall, OllamaModelsAdminService } from './ollama-models-admin.service';

/**
 * Ollama's model management at Ollama's paths, for admin keys only, passed through to the
 * first `OLLAMA_URL` host that answers, and audited (`GET /admin/audit`). Documented by Ollama
 * (and the README), not in Vega's OpenAPI document: the bodies are Ollama's, and a "Try it out"
 * there must not delete a model.
 */
@ApiExcludeController()
@AdminOnly()
@UseFilters(ScopeRefusalAuditFilter)
@Controller('api')
export class OllamaModelsAdminController {
  constructor(private readonly admin: OllamaModelsAdminService) {}

  @Post('pull')
  pull(@Body() body: unknown, @Req() request: AuthenticatedRequest, @Res() reply: FastifyReply): Promise<void> {
    return this.admin.relay(this.call(request, 'POST', '/api/pull', body, modelOf(body)), reply);
  }

  @Post('push')
  push(@Body() body: unknown, @Req() request: AuthenticatedRequest, @Res() reply: FastifyReply): Promise<void> {
    return this.admin.relay(this.call(request, 'POST', '/api/push', body, modelOf(body)), reply);
  }

  @Post('create')
  create(@Body() body: unknown, @Req() request: AuthenticatedRequest, @Res() reply: FastifyReply): Promise<void> {
    const from = stringField(body, 'from');
    return this.admin.relay({ ...this.call(request, 'POST', '/api/create', body, modelOf(body)), detail: from && `from ${from}` }, reply);
  }

  @Post('copy')
  copy(@Body() body: unknown, @Req() request: AuthenticatedRequest, @Res() reply: FastifyReply): Promise<void> {
    return this.admin.relay(this.call(request, 'POST', '/api/copy', body, modelsNamed('/api/copy', body)), reply);
  }

  @Delete('delete')
  remove(@Body() body: unknown, @Req() request: AuthenticatedRequest, @Res() reply: FastifyReply): Promise<void> {
    return this.admin.relay(this.call(request, 'DELETE', '/api/delete', body, modelOf(body)), reply);
  }

  @Head('blobs/:digest')
  hasBlob(@Param('digest') digest: string, @Req() request: AuthenticatedRequest, @Res() reply: FastifyReply): Promise<void> {
    return this.admin.relay({ ...this.call(request, 'HEAD', `/api/blobs/${digest}`, undefined, []), route: 'HEAD /api/blobs/:digest', detail: digest, refusal: digestRefusal(digest) }, reply);
  }

  /** The body is the file itself, streamed through unread (see `registerModelAdminBodies`). */
  @Post('blobs/:digest')
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
    return { route: `${method} ${path}`, method, path, keyId: request.apiKeyId ?? 'unknown', body, models };
  }
}
