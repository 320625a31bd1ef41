import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ThrottlerException } from '@nestjs/throttler';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { MemoizedReflector } from '../metadata/memoized-reflector';
import { AuthFailureLimiter } from './auth-failure.limiter';
import { isThrottleSkipped } from './skip-throttle';

/**
 * Global guard, registered before the API-key guard: refuses (429, `Retry-After`) an address
 * that sent too many wrong keys, before its key is looked at. The API-key guard counts them.
 */
@Injectable()
export class AuthFailureGuard implements CanActivate {
  constructor(
    @Inject(MemoizedReflector) private readonly reflector: Reflector,
    private readonly failures: AuthFailureLimiter,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (!this.failures.enabled || isThrottleSkipped(this.reflector, context)) return true;
    const http = context.switchToHttp();
    const wait = await this.failures.waitFor(http.getRequest<FastifyRequest>().ip);
    if (wait === 0) return true;
    this.failures.count('blocked');
    void http.getResponse<FastifyReply>().header('Retry-After', String(wait));
    throw new ThrottlerException(`Too many failed API-key attempts from this address: retry in ${wait} s`);
  }
}
