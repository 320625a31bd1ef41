import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppConfig } from '../../config/app-config';
import { raiseBodyLimit } from '../../common/http/route-body-limit';
import { openAiChatBodyLimit } from '../openai/openai-body-limit';

/**
 * `/v1/messages` (and count_tokens, which reads the same bodies) carries what
 * `/v1/chat/completions` carries — the whole conversation, images inline as base64 — so it
 * gets the same room.
 */
export function raiseAnthropicBodyLimit(app: NestFastifyApplication): void {
  raiseBodyLimit(app, ['/v1/messages', '/v1/messages/count_tokens'], openAiChatBodyLimit(app.get(AppConfig).images.maxBytes));
}
