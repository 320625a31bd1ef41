import {
  applyDecorators,
  CanActivate,
  ExecutionContext,
  ForbiddenException,
  Inject,
  Injectable,
  SetMetadata,
  UseGuards,
} from '@nestjs/common';
import { ApiExtension, ApiForbiddenResponse } from '@nestjs/swagger';
import { ErrorResponseDto } from '../errors/error-response.dto';
import { Reflector } from '@nestjs/core';
import { MemoizedReflector } from '../metadata/memoized-reflector';
import type { AuthenticatedRequest } from './api-key.guard';

export type Scope = 'admin';

export const REQUIRED_SCOPE = 'vega:requiredScope';

/**
 * Which scopes an accepted key holds. Today every accepted key is an admin key (SPEC: "same
 * API key for now"). An admin-only key is added by binding a subclass here that answers from
 * the key id (e.g. only `admin` for an `ADMIN_API_KEY`): routes and guard stay as they are.
 */
@Injectable()
export class KeyScopes {
  has(_keyId: string, _scope: Scope): boolean {
    return true;
  }
}

/** Runs after the global API-key guard (which sets `apiKeyId`) on routes marked with a scope. */
@Injectable()
export class ScopeGuard implements CanActivate {
  constructor(
    @Inject(MemoizedReflector) private readonly reflector: Reflector,
    private readonly scopes: KeyScopes,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const scope = this.reflector.getAllAndOverride<Scope | undefined>(REQUIRED_SCOPE, [context.getHandler(), context.getClass()]);
    if (scope === undefined) return true;
    const { apiKeyId } = context.switchToHttp().getRequest<AuthenticatedRequest>();
    if (apiKeyId === undefined || !this.scopes.has(apiKeyId, scope)) {
      throw new ForbiddenException(`This route needs a key with the ${scope} scope`);
    }
    return true;
  }
}

/** Marks a route or controller as needing an admin key, in the guard and in the docs. */
export const AdminOnly = () =>
  applyDecorators(
    SetMetadata(REQUIRED_SCOPE, 'admin'),
    UseGuards(ScopeGuard),
    ApiExtension('x-vega-scope', 'admin'),
    ApiForbiddenResponse({ description: 'The key is valid but does not hold the admin scope.', type: ErrorResponseDto }),
  );
