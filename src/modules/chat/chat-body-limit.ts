import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppConfig } from '../../config/app-config';
import { CHAT_MAX_IMAGES } from './dto/chat-fields.validator';

/** Room for a data URL's `data:image/webp;base64,` and the JSON around each image. */
const PER_IMAGE_OVERHEAD_BYTES = 64;

/**
 * The body limit of `POST /chat` and `POST /chat/sse`: the global one (sized for one prompt) plus
 * `CHAT_MAX_IMAGES` images of `IMAGE_MAX_BYTES` each as base64 (4 characters per 3 bytes). So an
 * image over the limit reaches the resolver and is refused with a 400 naming its field, instead of
 * the whole body being refused unread.
 */
export function chatBodyLimitBytes(config: AppConfig): number {
  const image = Math.ceil(config.images.maxBytes / 3) * 4 + PER_IMAGE_OVERHEAD_BYTES;
  return config.http.bodyLimitBytes + CHAT_MAX_IMAGES * image;
}

/** Gives the chat routes that take images their own body limit; call before `app.init()` registers routes. */
export function raiseChatBodyLimit(app: NestFastifyApplication): void {
  const limit = chatBodyLimitBytes(app.get(AppConfig));
  app
    .getHttpAdapter()
    .getInstance()
    .addHook('onRoute', (route) => {
      if ((route.url === '/chat' || route.url === '/chat/sse') && route.method === 'POST') route.bodyLimit = limit;
    });
}
