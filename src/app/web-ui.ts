import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { OLLAMA_PROBE_ANSWER, wantsHtml } from '../modules/ollama/ollama-probe';

/**
 * Where `static/` is: the repository root, two levels above `src/app/` when run from source
 * and three above `dist/src/app/` when built.
 */
export function findStaticRoot(from = __dirname): string {
  for (const candidate of [resolve(from, '..', '..', 'static'), resolve(from, '..', '..', '..', 'static')]) {
    if (existsSync(join(candidate, 'index.html'))) return candidate;
  }
  throw new Error(`static/index.html not found above ${from}`);
}

/**
 * The browser libraries the page loads, served from Vega itself under `/static/vendor/` (no CDN: the
 * CSP allows scripts from 'self' only, and the page works offline). Each is one file of an
 * installed dependency, named here: nothing else of node_modules is reachable.
 */
export const VENDOR_FILES: Readonly<Record<string, string>> = {
  // chart.js's `exports` name no UMD build; the package's entry point sits beside it in dist/.
  'chart.umd.min.js': join(dirname(require.resolve('chart.js')), 'chart.umd.min.js'),
};

/**
 * The web UI: `static/index.html` at `/` for browsers, its files under `/static/`. A request to
 * `/` that does not ask for HTML (an Ollama client probing the server) gets Ollama's
 * `Ollama is running` instead, as plain text; `Vary: Accept` keeps caches from mixing the two. Plain Fastify routes, outside
 * Nest's router, so the API-key guard never sees them (the page asks for the key itself) and they
 * stay out of the OpenAPI document. No build step: the files are served as they are, revalidated
 * on every load (`no-cache` with ETags) since their names carry no content hash.
 */
export async function serveWebUi(app: NestFastifyApplication, root = findStaticRoot()): Promise<void> {
  await app.register(fastifyStatic, {
    root,
    prefix: '/static/',
    index: false,
    dotfiles: 'ignore',
    cacheControl: false,
    etag: true,
    lastModified: true,
    setHeaders: (reply) => reply.header('cache-control', 'no-cache'),
  });
  const fastify = app.getHttpAdapter().getInstance();
  for (const [name, file] of Object.entries(VENDOR_FILES)) {
    // A more specific route than `/static/*`, so it wins; same caching as the page's own files.
    fastify.get(`/static/vendor/${name}`, (request, reply) => reply.header('cache-control', 'no-cache').sendFile(name, dirname(file)));
  }
  fastify.get('/', (request, reply) => {
    reply.header('cache-control', 'no-cache').header('vary', 'Accept');
    if (wantsHtml(request.headers.accept)) return reply.sendFile('index.html');
    return reply.type('text/plain; charset=utf-8').send(OLLAMA_PROBE_ANSWER);
  });
}
