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

function securityHeaders(directives: Record<string, string[]>): ReturnType<typeof helmet> {
  return helmet({
    contentSecurityPolicy: { useDefaults: false, directives },
    // TLS is the reverse proxy's business (Vega itself speaks plain HTTP): HSTS belongs there.
    strictTransportSecurity: false,
    frameguard: { action: 'deny' },
  });
}

/**
 * Security headers on every response (helmet's set, with the CSP above), and CORS only for the
 * origins listed in `CORS_ORIGINS` — none by default, so browsers refuse cross-origin reads.
 * Must run before `app.init()`.
 */
export async function registerSecurityHeaders(app: NestFastifyApplication, config: AppConfig): Promise<void> {
  // helmet's middleware, built once per policy. (@fastify/helmet builds it again on every
  // request, parsing the CSP each time: about 6 % of what a chat request allocated.) Two static
  // policies rather than one with a per-request directive, so helmet renders each header once.
  const everywhere = securityHeaders(CSP_DIRECTIVES);
  // Swagger UI's page carries `<style>` blocks: only its routes may use inline styles. Scripts
  // stay 'self' there too (Swagger UI loads its bundle and init script as files).
  const docs = securityHeaders({ ...CSP_DIRECTIVES, 'style-src': ["'self'", "'unsafe-inline'"] });
  app
    .getHttpAdapter()
    .getInstance()
    .addHook('onRequest', (request, reply, done) =>
      (isDocsUrl(request.url) ? docs : everywhere)(request.raw, reply.raw, done as (error?: unknown) => void),
    );
  if (config.http.corsOrigins.length > 0) {
    app.enableCors({
      origin: [...config.http.corsOrigins],
      methods: ['GET', 'POST', 'DELETE'],
      allowedHeaders: ['Content-Type', 'X-API-Key', 'Authorization', 'X-Request-Id'],
      exposedHeaders: ['Retry-After', 'X-Request-Id'],
      maxAge: 600,
    });
  }
}
