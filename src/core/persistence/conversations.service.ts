import { Injectable, Logger } from '@nestjs/common';
import { AppConfig } from '../../config/app-config';
import { CallerContext } from '../../common/auth/caller-context';
import { historyOwner } from '../../common/auth/principal';
import { DatabaseUnavailableError } from '../../common/errors/app-errors';
import { maskPii } from '../../common/pii/pii-masker';
import { ConversationRepository, NewExchange, Turn, uncertainWriteKey } from './conversation.repository';
import { ExchangeSpool } from './exchange-spool';
import { storablePair, type StoredAnswer, type StoredRequest } from './stored-exchange';

/** What the store's policy applies to: the texts, and the whole request and answer when there are. */
export interface StorableExchange {
  prompt: string;
  response: string;
  request?: StoredRequest | null;
  answer?: StoredAnswer | null;
}

/**
 * The write path for every exchange. With `PII_MASKING=true` every text of it is masked here —
 * prompt, response, and in the whole request and answer the message contents, tool results,
 * thinking and tool-call arguments — before anything reaches the database (or the spool),
 * whichever feature stores them. Images are kept as `{mime, bytes, sha256}` references, their
 * bytes only with `STORE_IMAGES=true`.
 */
@Injectable()
export class ConversationsService {
  private readonly logger = new Logger(ConversationsService.name);
  private readonly mask: (text: string) => string;
  private readonly storeImages: boolean;
  /** The last memory read met an unavailable database (logged once per outage). */
  private memoryUnavailable = false;

  constructor(
    private readonly repository: ConversationRepository,
    private readonly spool: ExchangeSpool,
    private readonly caller: CallerContext,
    config: AppConfig,
  ) {
    this.mask = config.privacy.piiMasking ? maskPii : (text) => text;
    this.storeImages = config.privacy.storeImages;
  }

  /**
   * Stores the exchange and returns its id; null when the database could not take it (locked
   * past DB_WRITE_WAIT_SEC, damaged): the model has answered, so the exchange is kept in the
   * spool and written to the database once it can be; so is every exchange made while others
   * wait there, so that they are stored in order. Fails only when the spool fails too.
   * The exchange belongs to the calling key unless it names one.
   */
  async record(exchange: NewExchange): Promise<number | null> {
    const at = new Date();
    const masked = this.storable({
      ...exchange,
      keyId: exchange.keyId !== undefined ? exchange.keyId : (this.caller.current()?.keyId ?? null),
      // Without the backend's own timing, the time the exchange took is what it cost the backend.
      modelMs: exchange.modelMs ?? (exchange.status === 'cached' ? 0 : (exchange.durationMs ?? null)),
    });
    // While exchanges wait in the spool (the database was down), this one goes behind them.
    if (await this.spool.appendIfWaiting(masked, at).catch(() => false)) return null;
    let failure: unknown;
    try {
      const id = await this.repository.insert(masked);
      this.spool.replaySoon();
      return id;
    } catch (error) {
      failure = error;
    }
    try {
      await this.spool.append(masked, at, uncertainWriteKey(failure));
    } catch (spoolError) {
      this.logger.error(`an exchange could be neither stored nor spooled: ${(spoolError as Error).message}`);
      throw failure;
    }
    this.logger.warn(`exchange spooled, to be stored once the database takes it: ${failure instanceof Error ? failure.message : String(failure)}`);
    return null;
  }

  /**
   * The exchange as the store keeps it (masked with PII_MASKING, images as references unless
   * STORE_IMAGES): `record` applies it, and so does the import of an export.
   */
  storable<T extends StorableExchange>(exchange: T): T {
    return {
      ...exchange,
      prompt: this.mask(exchange.prompt),
      response: this.mask(exchange.response),
      ...storablePair(exchange.request ?? undefined, exchange.answer ?? undefined, this.mask, this.storeImages),
    };
  }

  /**
   * The session's memory as the caller may read it: a key restricted to its own history gets
   * only its own turns, or naming another key's session would hand that conversation to the model.
   * While the database server is unavailable: no turns. Once a read met it unavailable, no read
   * is tried while exchanges wait in the spool: a server that hangs would hold every chat for
   * DB_QUERY_TIMEOUT_SEC; the spool's replay, which succeeds once the server answers, ends that.
   */
  async recentTurns(sessionId: string, limit: number): Promise<Turn[]> {
    if (this.memoryUnavailable && this.spool.pending) return [];
    try {
      const turns = await this.repository.recentTurns(sessionId, limit, historyOwner(this.caller.current()));
      this.memoryUnavailable = false;
      return turns;
    } catch (error) {
      // A database server that is down does not stop the chat: it is answered without the
      // session's earlier turns (and stored through the spool), not refused.
      if (!(error instanceof DatabaseUnavailableError)) throw error;
      if (!this.memoryUnavailable) this.logger.warn(`session memory not read, chats go on without it until the database answers: ${error.message}`);
      this.memoryUnavailable = true;
      return [];
    }
  }
}
