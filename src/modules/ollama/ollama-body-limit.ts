import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppConfig } from '../../config/app-config';
import { raiseBodyLimit } from '../../common/http/route-body-limit';
import { openAiChatBodyLimit } from '../openai/openai-body-limit';

/**
 * `/api/chat` and `/api/generate` carry the whole conversation and inline base64 images, as
 * `/v1/chat/completions` does: the same room (the last user message or the prompt is still held
 * to MAX_PROMPT_CHARS). Call before `app.init()` registers the routes.
 */
export function raiseOllamaBodyLimit(app: NestFastifyApplication): void {
  raiseBodyLimit(app, ['/api/chat', '/api/generate'], openAiChatBodyLimit(app.get(AppConfig).images.maxBytes));
}
