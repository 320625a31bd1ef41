import helmet from 'helmet';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppConfig } from '../config/app-config';

/** Swagger UI's page and assets (`/docs`, `/docs/…`), but not the OpenAPI JSON at `/docs-json`. */
export function isDocsUrl(url: string | undefined): boolean {
  const path = (url ?? '').split('?', 1)[0];
  return path === '/docs' || path.startsWith('/docs/');
}

/**
 * The Content-Security-Policy of every response. Nothing inline runs — no `<script>` blocks, no
 * `on…=` attributes — so HTML that slips into a model's answer cannot execute. No
 * `upgrade-insecure-requests`: Vega serves plain HTTP on loopback, where an upgrade would break the page.
 */
export const CSP_DIRECTIVES = {
  'default-src': ["'self'"],
  'script-src': ["'self'"],
  'script-src-attr': ["'none'"],
  'style-src': ["'self'"],
  'img-src': ["'self'", 'data:'],
  'font-src': ["'self'"],
  'connect-src': ["'self'"],
  'object-src': ["'none'"],
  'base-uri': ["'none'"],
  'form-action': ["'self'"],
  'frame-ancestors': ["'none'"],
};

/**
 * The headers helmet sets for one policy, as `{ name: value }`. helmet's headers depend on the
 * policy alone, never on the request, so its middleware runs once here against a recording
 * response and every request then gets the recorded set through Fastify's reply. (Calling helmet
 * per request cost ~10 µs, and its `setHeader` calls on the raw response pushed Node's
 * `writeHead` onto its slow path, which validates every other header one by one as well.)
 */
export function securityHeaders(directives: Record<string, string[]>): Readonly<Record<string, string>> {
  const headers: Record<string, string> = {};
  const recorder = {
    setHeader(name: string, value: string | number | readonly string[]) {
      headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value);
    },
    removeHeader(name: string) {
      delete headers[name.toLowerCase()];
    },
  };
  const middleware = helmet({
    contentSecurityPolicy: { useDefaults: false, directives },
    // TLS is the reverse proxy's business (Vega itself speaks plain HTTP): HSTS belongs there.
    strictTransportSecurity: false,
    frameguard: { action: 'deny' },
  });
  let failure: unknown;
  // helmet's middleware is synchronous: `next` has run when the call returns.
  middleware({} as never, recorder as never, (error?: unknown) => (failure = error));
  if (failure) throw failure;
  return Object.freeze(headers);
}

/**
 * Security headers on every response (helmet's set, with the CSP above), and CORS only for the
 * origins listed in `CORS_ORIGINS` — none by default, so browsers refuse cross-origin reads.
 * Must run before `app.init()`.
 */
export async function registerSecurityHeaders(app: NestFastifyApplication, config: AppConfig): Promise<void> {
  const everywhere = securityHeaders(CSP_DIRECTIVES);
  // Swagger UI's page carries `<style>` blocks: only its routes may use inline styles. Scripts
  // stay 'self' there too (Swagger UI loads its bundle and init script as files).
  const docs = securityHeaders({ ...CSP_DIRECTIVES, 'style-src': ["'self'", "'unsafe-inline'"] });
  // On Fastify's reply, not the raw response: error replies and 404s keep them, and streams that
  // take over the raw response copy them from `reply.getHeaders()`.
  app
    .getHttpAdapter()
    .getInstance()
    .addHook('onRequest', (request, reply, done) => {
      reply.headers(isDocsUrl(request.url) ? docs : everywhere);
      done();
    });
  if (config.http.corsOrigins.length > 0) {
    app.enableCors({
      origin: [...config.http.corsOrigins],
      methods: ['GET', 'POST', 'DELETE'],
      allowedHeaders: ['Content-Type', 'X-API-Key', 'Authorization', 'X-Request-Id'],
      // What a browser client may read: the wait after a 503/429, the request id, the model and target that answered.
      exposedHeaders: ['Retry-After', 'X-Request-Id', 'X-Vega-Model', 'X-Vega-Target'],
      maxAge: 600,
    });
  }
}
