import { Injectable, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ServerResponse } from 'node:http';
import { AppConfig } from '../../config/app-config';
import { maskPii } from '../../common/pii/pii-masker';
import { AppLogger } from '../logging/app-logger';
import { redact } from '../logging/redact';
import { REQUEST_ID_HEADER } from '../logging/request-id';
import { HttpMetrics, UNMATCHED_ROUTE } from './http-metrics';

const REQUEST = Symbol('vega.request');
const STARTED = Symbol('vega.startedAt');
type TrackedResponse = ServerResponse & { [REQUEST]?: FastifyRequest; [STARTED]?: number };

/** nginx's "client closed request": the client left before the response finished. */
const CLIENT_CLOSED = 499;

/**
 * Per request: echo the request id (`X-Request-Id`; streams copy the reply's headers when they
 * hijack it), count and time the request by route template, and write one JSON log line with
 * method, route template, status, duration and request id — never the URL (a GET query can hold
 * a prompt), headers or bodies. At `LOG_LEVEL=debug` the request body and query are logged as
 * well, key-like fields censored, PII-masked when `PII_MASKING=true`.
 *
 * The request is accounted when its response closes: after the last byte (streams included,
 * which Fastify's `onResponse` sees) or when the client went away first (which `onRequestAbort`
 * misses once the body was read). One shared listener; no closure per request.
 */
@Injectable()
export class HttpTelemetry implements OnModuleInit {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly metrics: HttpMetrics,
    private readonly logger: AppLogger,
    private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    const metrics = this.metrics;
    const log = this.logger.pino;

    function onClose(this: TrackedResponse): void {
      const request = this[REQUEST]!;
      const seconds = (performance.now() - this[STARTED]!) / 1000;
      this[REQUEST] = undefined;
      const finished = this.writableFinished;
      const status = finished ? this.statusCode : CLIENT_CLOSED;
      const route = request.routeOptions.url ?? UNMATCHED_ROUTE;
      metrics.record(request.method, route, status, seconds);
      const level = status >= 500 && finished ? 'error' : status >= 400 ? 'warn' : 'info';
      if (!log.isLevelEnabled(level)) return;
      log[level](
        { request_id: request.id, method: request.method, route, status, duration_ms: Math.round(seconds * 1e5) / 100 },
        finished ? 'request completed' : 'request aborted',
      );
    }

    fastify.addHook('onRequest', (request: FastifyRequest, reply: FastifyReply, done: () => void) => {
      const raw = reply.raw as TrackedResponse;
      raw[REQUEST] = request;
      raw[STARTED] = performance.now();
      raw.on('close', onClose);
      metrics.started += 1;
      void reply.header(REQUEST_ID_HEADER, request.id);
      done();
    });
    if (log.isLevelEnabled('debug')) {
      const mask = this.config.privacy.piiMasking ? maskPii : (text: string) => text;
      fastify.addHook('preHandler', (request: FastifyRequest, _reply: FastifyReply, done: () => void) => {
        // Key-like fields (`?api_key=`, `{"token": …}`) are censored before the text is built.
        const body = request.body === undefined ? undefined : mask(JSON.stringify(redact(request.body)));
        const query = request.query && Object.keys(request.query).length > 0 ? mask(JSON.stringify(redact(request.query))) : undefined;
        if (body !== undefined || query !== undefined) log.debug({ request_id: request.id, body, query }, 'request input');
        done();
      });
    }
  }
}
