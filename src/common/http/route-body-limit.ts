import type { NestFastifyApplication } from '@nestjs/platform-fastify';

/** The length of `bytes` bytes as base64 (4 characters for every 3 bytes, padded). */
export function base64Length(bytes: number): number {
  return Math.ceil(bytes / 3) * 4;
}

/**
 * Gives the POST routes at `urls` a body limit of their own (routes that take inline images need
 * more room than the global limit); call before `app.init()` registers the routes.
 */
export function raiseBodyLimit(app: NestFastifyApplication, urls: readonly string[], limit: number): void {
  app
    .getHttpAdapter()
    .getInstance()
    .addHook('onRoute', (route) => {
      if (route.method === 'POST' && urls.includes(route.url)) route.bodyLimit = limit;
    });
}
