import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyRequest, preParsingHookHandler } from 'fastify';
import { raiseBodyLimit } from '../../common/http/route-body-limit';

/** The blob upload route: its body is a model file, streamed to Ollama as it arrives. */
export const BLOB_UPLOAD_URL = '/api/blobs/:digest';
/**
 * `POST /api/create` carries a Modelfile's worth of JSON (template, license texts, messages):
 * more than the global limit, sized for one prompt, but never a model file.
 */
export const CREATE_BODY_LIMIT_BYTES = 4 * 1024 * 1024;

/** A private content type whose parser reads nothing: the handler gets the request stream itself. */
const UNREAD = 'application/x-vega-unread-body';
const CLIENT_CONTENT_TYPE = Symbol('clientContentType');

type UnreadRequest = FastifyRequest & { [CLIENT_CONTENT_TYPE]?: string };

/** The content type the client sent with a streamed body (the route's parser sees another). */
export function clientContentType(request: FastifyRequest): string | undefined {
  return (request as UnreadRequest)[CLIENT_CONTENT_TYPE];
}

const leaveBodyUnread: preParsingHookHandler = (request, _reply, payload, done) => {
  (request as UnreadRequest)[CLIENT_CONTENT_TYPE] = request.headers['content-type'];
  request.headers['content-type'] = UNREAD;
  done(null, payload);
};

/**
 * Blob uploads are gigabytes: their body is neither parsed nor held, whatever content type the
 * client names (Ollama's own CLI sends `application/json`), and has no size limit here — the
 * route is admin-only and Ollama checks the bytes against the digest. `POST /api/create` gets
 * CREATE_BODY_LIMIT_BYTES. Call before `app.init()` registers the routes.
 */
export function registerModelAdminBodies(app: NestFastifyApplication): void {
  const fastify = app.getHttpAdapter().getInstance();
  fastify.addContentTypeParser(UNREAD, (_request, _payload, done) => done(null, undefined));
  fastify.addHook('onRoute', (route) => {
    if (route.method !== 'POST' || route.url !== BLOB_UPLOAD_URL) return;
    const existing = route.preParsing === undefined ? [] : Array.isArray(route.preParsing) ? route.preParsing : [route.preParsing];
    route.preParsing = [...existing, leaveBodyUnread];
  });
  raiseBodyLimit(app, ['/api/create'], CREATE_BODY_LIMIT_BYTES);
}
