import { ArgumentsHost, Catch, ForbiddenException, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { AuthenticatedRequest } from '../../common/auth/api-key.guard';
import { AllExceptionsFilter } from '../../common/errors/all-exceptions.filter';
import { AuditService } from '../audit/audit.service';
import { modelsNamed } from './ollama-models-admin.models';

/**
 * A key without the admin scope is refused by the scope guard before the route runs: the refusal
 * is a model-management call too, so it goes to the audit log (outcome `error`, 403), then is
 * answered as every error is, by the one filter.
 */
@Injectable()
@Catch(ForbiddenException)
export class ScopeRefusalAuditFilter extends AllExceptionsFilter {
  constructor(private readonly audit: AuditService) {
    super();
  }

  override catch(exception: ForbiddenException, host: ArgumentsHost): void {
    const request = host.switchToHttp().getRequest<FastifyRequest & AuthenticatedRequest>();
    const route = request.routeOptions.url ?? request.url;
    void this.audit.record({
      at: new Date(),
      keyId: request.principal?.keyId ?? 'unknown',
      route: `${request.method} ${route}`,
      models: modelsNamed(route, request.body),
      outcome: 'error',
      status: exception.getStatus(),
      durationMs: 0,
      detail: exception.message,
    });
    super.catch(exception, host);
  }
}
