import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { Observable } from 'rxjs';
import type { AuthenticatedRequest } from './api-key.guard';
import { laneOf } from '../http/lane';
import { CallerContext } from './caller-context';
import { seesTargets } from './principal';

/** The model that served an answer (the one asked for, or a fallback). */
export const SERVED_MODEL_HEADER = 'x-vega-model';
/** The model server (target) that served it; absent for an answer from the cache, and for keys without the admin scope. */
export const SERVED_TARGET_HEADER = 'x-vega-target';

/** What a header value may hold as is (a model name a client made up could hold anything). */
const HEADER_SAFE = /^[\x20-\x7e]+$/;

/**
 * Global interceptor: runs each handler as the principal the API-key guard accepted, through the
 * lane of its route, so the exchange it stores and the limits it uses are charged to that key and
 * its model calls counted under that lane (`CallerContext`). The model and target that serve the
 * answer go in its headers (`x-vega-model`, `x-vega-target`: the target for admin keys only) while
 * they have not gone out: on every answer in one piece, and on a stream whose headers leave with its first piece.
 */
@Injectable()
export class CallerContextInterceptor implements NestInterceptor {
  constructor(private readonly caller: CallerContext) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const { principal, url } = context.switchToHttp().getRequest<AuthenticatedRequest>();
    if (principal === undefined) return next.handle();
    const reply = context.switchToHttp().getResponse<FastifyReply>();
    const showsTarget = seesTargets(principal);
    const served = (model: string, target?: string) => {
      if (reply.sent || reply.raw.headersSent || !HEADER_SAFE.test(model)) return;
      reply.header(SERVED_MODEL_HEADER, model);
      if (target && showsTarget) reply.header(SERVED_TARGET_HEADER, target);
      else reply.removeHeader(SERVED_TARGET_HEADER);
    };
    const caller = { principal, lane: laneOf(url), served };
    return new Observable((subscriber) => this.caller.run(caller, () => next.handle().subscribe(subscriber)));
  }
}
