import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import { Observable } from 'rxjs';
import type { AuthenticatedRequest } from './api-key.guard';
import { laneOf } from '../http/lane';
import { CallerContext } from './caller-context';

/**
 * Global interceptor: runs each handler as the principal the API-key guard accepted, through the
 * lane of its route, so the exchange it stores and the limits it uses are charged to that key and
 * its model calls counted under that lane (`CallerContext`).
 */
@Injectable()
export class CallerContextInterceptor implements NestInterceptor {
  constructor(private readonly caller: CallerContext) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const { principal, url } = context.switchToHttp().getRequest<AuthenticatedRequest>();
    if (principal === undefined) return next.handle();
    const caller = { principal, lane: laneOf(url) };
    return new Observable((subscriber) => this.caller.run(caller, () => next.handle().subscribe(subscriber)));
  }
}
