import { CanActivate, ExecutionContext, Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { Reflector } from '@nestjs/core';
import { MemoizedReflector } from '../metadata/memoized-reflector';
import { AuthFailureLimiter } from '../throttling/auth-failure.limiter';
import { ApiKeyRing } from './api-key-ring';
import { IS_PUBLIC } from './public.decorator';

export type AuthenticatedRequest = FastifyRequest & { apiKeyId?: string };

/** Reads the key from `X-API-Key`, or from `Authorization: Bearer <key>`. */
export function extractApiKey(request: FastifyRequest): string | undefined {
  const header = request.headers['x-api-key'];
  if (typeof header === 'string' && header.length > 0) return header;
  const authorization = request.headers.authorization;
  if (authorization && /^bearer\s+/i.test(authorization)) return authorization.replace(/^bearer\s+/i, '').trim();
  return undefined;
}

/**
 * Global guard: every route needs a valid API key unless marked `@Public()`. A wrong key counts
 * against the client's address (`AuthFailureGuard`, registered before this one, refuses it past
 * `AUTH_FAILURE_LIMIT`).
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(
    @Inject(MemoizedReflector) private readonly reflector: Reflector,
    private readonly keys: ApiKeyRing,
    private readonly failures: AuthFailureLimiter,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const isPublic = this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [context.getHandler(), context.getClass()]);
    if (isPublic) return true;
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const candidate = extractApiKey(request);
    if (candidate === undefined) {
      throw new UnauthorizedException('Missing API key: send it in the X-API-Key header or as Authorization: Bearer <key>');
    }
    const id = this.keys.identify(candidate);
    if (id === null) {
      this.failures.recordFailure(request.ip);
      throw new UnauthorizedException('Invalid API key');
    }
    request.apiKeyId = id;
    return true;
  }
}
