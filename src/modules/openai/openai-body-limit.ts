import type { NestFastifyApplication } from '@nestjs/platform-fastify';

/**
 * The body limit of `POST /v1/chat/completions`. OpenAI clients (chat UIs, SDK scripts) send the
 * whole conversation with every request, so the global limit, sized for one `/chat` prompt,
 * would refuse a long conversation. 4 MiB holds about a million characters of history — more
 * than the context window of the models people run locally. The last user message is still
 * held to MAX_PROMPT_CHARS.
 */
export const OPENAI_CHAT_BODY_LIMIT_BYTES = 4 * 1024 * 1024;

/** The routes that take the larger limit: whole conversations, up to 2048 texts to embed, long prompts. */
const LARGE_BODY_ROUTES = new Set(['/v1/chat/completions', '/v1/embeddings', '/v1/completions']);

/** Gives the chat completions route (and the other /v1 POST routes) its own body limit; call before `app.init()` registers routes. */
export function raiseOpenAiChatBodyLimit(app: NestFastifyApplication): void {
  app
    .getHttpAdapter()
    .getInstance()
    .addHook('onRoute', (route) => {
      if (LARGE_BODY_ROUTES.has(route.url) && route.method === 'POST') route.bodyLimit = OPENAI_CHAT_BODY_LIMIT_BYTES;
    });
}
