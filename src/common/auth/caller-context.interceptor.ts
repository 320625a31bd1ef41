import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import { Observable } from 'rxjs';
import type { AuthenticatedRequest } from './api-key.guard';
import { CallerContext } from './caller-context';

/**
 * Global interceptor: runs each handler as the principal the API-key guard accepted, so the
 * exchange it stores and the limits it uses are charged to that key (`CallerContext`).
 */
@Injectable()
export class CallerContextInterceptor implements NestInterceptor {
  constructor(private readonly caller: CallerContext) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const { principal } = context.switchToHttp().getRequest<AuthenticatedRequest>();
    if (principal === undefined) return next.handle();
    return new Observable((subscriber) => this.caller.run(principal, () => next.handle().subscribe(subscriber)));
  }
}
