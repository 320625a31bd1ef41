import { Module } from '@nestjs/common';
import { ChatController } from './chat.controller';
import { ChatModule } from './chat.module';

/** The chat routes; imported by the HTTP app only. */
@Module({ imports: [ChatModule], controllers: [ChatController] })
export class ChatHttpModule {}
