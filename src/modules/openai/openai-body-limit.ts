import type { NestFastifyApplication } from '@nestjs/platform-fastify';

/**
 * The body limit of `POST /v1/chat/completions`. OpenAI clients (chat UIs, SDK scripts) send the
 * whole conversation with every request, so the global limit, sized for one `/chat` prompt,
 * would refuse a long conversation. 4 MiB holds about a million characters of history — more
 * than the context window of the models people run locally. The last user message is still
 * held to MAX_PROMPT_CHARS.
 */
export const OPENAI_CHAT_BODY_LIMIT_BYTES = 4 * 1024 * 1024;

/** Gives the chat completions route its own body limit; call before `app.init()` registers routes. */
export function raiseOpenAiChatBodyLimit(app: NestFastifyApplication): void {
  app
    .getHttpAdapter()
    .getInstance()
    .addHook('onRoute', (route) => {
      if (route.url === '/v1/chat/completions' && route.method === 'POST') route.bodyLimit = OPENAI_CHAT_BODY_LIMIT_BYTES;
    });
}
