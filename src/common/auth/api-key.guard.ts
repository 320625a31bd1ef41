import { CanActivate, ExecutionContext, Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { Reflector } from '@nestjs/core';
import { MemoizedReflector } from '../metadata/memoized-reflector';
import { AuthFailureLimiter } from '../throttling/auth-failure.limiter';
import { ApiKeyStore, type KeyLookup } from './api-key-store';
import type { Principal } from './principal';
import { IS_PUBLIC } from './public.decorator';

/** A request whose key was accepted carries its principal (absent on public routes). */
export type AuthenticatedRequest = FastifyRequest & { principal?: Principal };

/** Reads the key from `X-API-Key`, or from `Authorization: Bearer <key>`. */
export function extractApiKey(request: FastifyRequest): string | undefined {
  const header = request.headers['x-api-key'];
  if (typeof header === 'string' && header.length > 0) return header;
  const authorization = request.headers.authorization;
  if (authorization && /^bearer\s+/i.test(authorization)) return authorization.replace(/^bearer\s+/i, '').trim();
  return undefined;
}

/**
 * Global guard: every route needs a valid API key unless marked `@Public()`. A wrong key, and a
 * revoked or expired one, counts against the client's address (`AuthFailureGuard`, registered
 * before this one, refuses it past `AUTH_FAILURE_LIMIT`). The accepted key's principal goes on
 * the request.
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(
    @Inject(MemoizedReflector) private readonly reflector: Reflector,
    private readonly keys: ApiKeyStore,
    private readonly failures: AuthFailureLimiter,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const isPublic = this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [context.getHandler(), context.getClass()]);
    if (isPublic) return true;
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const candidate = extractApiKey(request);
    if (candidate === undefined) {
      this.failures.count('missing');
      throw new UnauthorizedException('Missing API key: send it in the X-API-Key header or as Authorization: Bearer <key>');
    }
    const found = await this.keys.identify(candidate);
    if (found === null || 'refused' in found) {
      await this.failures.recordFailure(request.ip, found === null ? 'invalid' : found.refused);
      throw new UnauthorizedException(refusal(found));
    }
    request.principal = found.principal;
    return true;
  }
}

function refusal(found: Exclude<KeyLookup, { principal: Principal }> | null): string {
  if (found === null) return 'Invalid API key';
  return found.refused === 'revoked' ? `This API key was revoked at ${found.at}` : `This API key expired at ${found.at}`;
}
