import { Injectable, Logger } from '@nestjs/common';
import { AppConfig } from '../../config/app-config';
import { maskPii } from '../../common/pii/pii-masker';
import { ConversationRepository, NewExchange, Turn } from './conversation.repository';
import { ExchangeSpool } from './exchange-spool';

/**
 * The write path for every exchange. With `PII_MASKING=true` the prompt and the response
 * are masked here, before anything reaches the database (or the spool), whichever feature stores them.
 */
@Injectable()
export class ConversationsService {
  private readonly logger = new Logger(ConversationsService.name);
  private readonly mask: (text: string) => string;

  constructor(
    private readonly repository: ConversationRepository,
    private readonly spool: ExchangeSpool,
    config: AppConfig,
  ) {
    this.mask = config.privacy.piiMasking ? maskPii : (text) => text;
  }

  /**
   * Stores the exchange and returns its id; null when the database could not take it (locked
   * past DB_WRITE_WAIT_SEC, damaged): the model has answered, so the exchange is kept in the
   * spool and written to the database once it can be. Fails only when the spool fails too.
   */
  async record(exchange: NewExchange): Promise<number | null> {
    const at = new Date();
    const masked = { ...exchange, prompt: this.mask(exchange.prompt), response: this.mask(exchange.response) };
    let failure: unknown;
    try {
      const id = await this.repository.insert(masked);
      this.spool.replaySoon();
      return id;
    } catch (error) {
      failure = error;
    }
    try {
      await this.spool.append(masked, at);
    } catch (spoolError) {
      this.logger.error(`an exchange could be neither stored nor spooled: ${(spoolError as Error).message}`);
      throw failure;
    }
    this.logger.warn(`exchange spooled, to be stored once the database takes it: ${failure instanceof Error ? failure.message : String(failure)}`);
    return null;
  }

  recentTurns(sessionId: string, limit: number): Promise<Turn[]> {
    return this.repository.recentTurns(sessionId, limit);
  }
}
