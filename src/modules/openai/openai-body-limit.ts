import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppConfig } from '../../config/app-config';
import { base64Length, raiseBodyLimit } from '../../common/http/route-body-limit';

/**
 * The room for the conversation in a `POST /v1/chat/completions` body. OpenAI clients (chat
 * UIs, SDK scripts) send the whole conversation with every request, so the global limit, sized
 * for one `/chat` prompt, would refuse a long conversation. 4 MiB holds about a million
 * characters of history — more than the context window of the models people run locally. The
 * last user message is still held to MAX_PROMPT_CHARS.
 */
export const OPENAI_CHAT_CONVERSATION_BYTES = 4 * 1024 * 1024;
/**
 * Images come inline as base64 data URLs: the body also has room for this many images of
 * IMAGE_MAX_BYTES (4/3 larger as base64). An image over IMAGE_MAX_BYTES still fits the body
 * up to about twice that size, so the image resolver refuses it with a 400 naming its field
 * rather than the body parser with a bare 413.
 */
const IMAGES_OF_MAX_SIZE = 2;

/** The body limit of the chat completions route for images of at most `imageMaxBytes` each. */
export function openAiChatBodyLimit(imageMaxBytes: number): number {
  return OPENAI_CHAT_CONVERSATION_BYTES + IMAGES_OF_MAX_SIZE * base64Length(imageMaxBytes);
}

/** The other routes with the conversation's room (no images): up to 2048 texts to embed, a long prompt. */
const TEXT_BODY_ROUTES = ['/v1/embeddings', '/v1/completions'];

/**
 * Gives the chat completions route (and the other /v1 POST routes) its own body limit; call before `app.init()` registers routes.
 * `/v1/responses` carries a whole conversation with images the same way.
 */
export function raiseOpenAiChatBodyLimit(app: NestFastifyApplication): void {
  raiseBodyLimit(app, ['/v1/chat/completions', '/v1/responses'], openAiChatBodyLimit(app.get(AppConfig).images.maxBytes));
  raiseBodyLimit(app, TEXT_BODY_ROUTES, OPENAI_CHAT_CONVERSATION_BYTES);
}
