import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppConfig } from '../../config/app-config';
import { base64Length, raiseBodyLimit } from '../../common/http/route-body-limit';
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
  const image = base64Length(config.images.maxBytes) + PER_IMAGE_OVERHEAD_BYTES;
  return config.http.bodyLimitBytes + CHAT_MAX_IMAGES * image;
}

/** Gives the chat routes that take images their own body limit; call before `app.init()` registers routes. */
export function raiseChatBodyLimit(app: NestFastifyApplication): void {
  raiseBodyLimit(app, ['/chat', '/chat/sse'], chatBodyLimitBytes(app.get(AppConfig)));
}
