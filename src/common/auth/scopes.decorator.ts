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
import type { Scope } from './principal';

export const REQUIRED_SCOPES = 'vega:requiredScopes';
/** OpenAPI extension listing the scopes of which a route needs one. */
export const SCOPE_EXTENSION = 'x-vega-scopes';

/** Runs after the global API-key guard (which puts the principal on the request) on routes marked with scopes. */
@Injectable()
export class ScopeGuard implements CanActivate {
  constructor(@Inject(MemoizedReflector) private readonly reflector: Reflector) {}

  canActivate(context: ExecutionContext): boolean {
    const scopes = this.reflector.getAllAndOverride<readonly Scope[] | undefined>(REQUIRED_SCOPES, [context.getHandler(), context.getClass()]);
    if (scopes === undefined) return true;
    const { principal } = context.switchToHttp().getRequest<AuthenticatedRequest>();
    if (principal === undefined || !scopes.some((scope) => principal.scopes.has(scope))) {
      throw new ForbiddenException(`This route needs a key with the ${scopes.join(' or ')} scope`);
    }
    return true;
  }
}

/** Marks a route or controller as needing a key with one of `scopes`, in the guard and in the docs. */
export const RequireScope = (...scopes: [Scope, ...Scope[]]) =>
  applyDecorators(
    SetMetadata(REQUIRED_SCOPES, scopes),
    UseGuards(ScopeGuard),
    ApiExtension(SCOPE_EXTENSION, scopes),
    ApiForbiddenResponse({ description: `The key is valid but holds none of: ${scopes.join(', ')}.`, type: ErrorResponseDto }),
  );

/** Marks a route or controller as needing an admin key. */
export const AdminOnly = () => RequireScope('admin');

/** Marks a route or controller that reads or changes stored exchanges (a `history:own` key sees only its own). */
export const HistoryScope = () => RequireScope('history:own', 'history:all');
