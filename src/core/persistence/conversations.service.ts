import { Injectable } from '@nestjs/common';
import { AppConfig } from '../../config/app-config';
import { maskPii } from '../../common/pii/pii-masker';
import { ConversationRepository, NewExchange, Turn } from './conversation.repository';

/**
 * The write path for every exchange. With `PII_MASKING=true` the prompt and the response
 * are masked here, before anything reaches the database, whichever feature stores them.
 */
@Injectable()
export class ConversationsService {
  private readonly mask: (text: string) => string;

  constructor(
    private readonly repository: ConversationRepository,
    config: AppConfig,
  ) {
    this.mask = config.privacy.piiMasking ? maskPii : (text) => text;
  }

  record(exchange: NewExchange): Promise<number> {
    return this.repository.insert({
      ...exchange,
      prompt: this.mask(exchange.prompt),
      response: this.mask(exchange.response),
    });
  }

  recentTurns(sessionId: string, limit: number): Promise<Turn[]> {
    return this.repository.recentTurns(sessionId, limit);
  }
}
