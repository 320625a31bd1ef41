import type { ConversationSource, ConversationStatus } from './conversation.entity';
import type { ExchangeKind, StoredAnswer, StoredRequest } from './stored-exchange';

/** What is stored for one exchange, whatever its outcome. */
export interface NewExchange {
  prompt: string;
  response: string;
  source: ConversationSource;
  sessionId: string | null;
  model: string | null;
  status: ConversationStatus;
  promptTokens?: number | null;
  completionTokens?: number | null;
  durationMs?: number | null;
  ttftMs?: number | null;
  /** Absent: `chat`. */
  kind?: ExchangeKind;
  /** The whole request (`storedRequest()` and its siblings); images keep their bytes only with STORE_IMAGES. */
  request?: StoredRequest;
  /** The whole answer as far as it went (`storedAnswer()`, `storedEmbeddingAnswer()`). */
  answer?: StoredAnswer;
  /** The `resp_…` id of a Responses API exchange (`/v1/responses`); absent for the other routes. */
  responseId?: string | null;
  /** The key that made it; absent: the caller's (`CallerContext`), if any. */
  keyId?: string | null;
  /** The backend's time spent generating, in ms; absent: unknown. */
  modelMs?: number | null;
  /** The model that answered (the one asked for, or a fallback); absent: none did. */
  servedModel?: string | null;
  /** The model server that answered, by name; absent: the cache, or none did. */
  target?: string | null;
}

/** An exchange the database could not take when it was made, kept in the spool (`ExchangeSpool`) until it can. */
export interface SpooledExchange {
  /** Unique to this exchange: what makes writing it back idempotent. */
  key: string;
  /** When it was made: the stored row's time. */
  at: Date;
  exchange: NewExchange;
  /**
   * The key of the write that failed with an unknown outcome (`UncertainWriteError`): when the
   * database holds it in `spool_applied`, that write was committed and the exchange is stored already.
   */
  writeKey?: string;
}

/**
 * A write whose outcome is unknown: the connection was lost after the statement was sent, so the
 * server may have committed it. The adapter recorded `writeKey` in `spool_applied` in the same
 * transaction as the rows; the spool keeps it with the exchange, and the replay skips the
 * exchange when the key is there. Keeps the failure's code and words.
 */
export class UncertainWriteError extends Error {
  constructor(
    readonly writeKey: string,
    override readonly cause: unknown,
  ) {
    super(cause instanceof Error ? cause.message : String(cause));
    this.name = 'UncertainWriteError';
  }

  get code(): unknown {
    return (this.cause as { code?: unknown } | null)?.code;
  }
}

/** The write key of an `UncertainWriteError` anywhere in the error's causes. */
export function uncertainWriteKey(error: unknown): string | undefined {
  for (let current = error, depth = 0; current instanceof Error && depth < 5; current = current.cause, depth++) {
    if (current instanceof UncertainWriteError) return current.writeKey;
  }
  return undefined;
}

export interface Turn {
  prompt: string;
  response: string;
}

/**
 * The persistence port for conversations. Services depend on this abstract class; the
 * TypeORM/SQLite adapter is bound to it in the persistence module.
 */
export abstract class ConversationRepository {
  /** Stores an exchange and returns its id. */
  abstract insert(exchange: NewExchange): Promise<number>;
  /** The last `limit` completed turns of a session, oldest first (the chat memory); `owner`: that key's turns only. */
  abstract recentTurns(sessionId: string, limit: number, owner?: string): Promise<Turn[]>;
  /**
   * Writes spooled exchanges back, in order and in one transaction, each at most once however
   * often it is offered (its key is kept until `forgetSpooled`). An exchange the database refuses
   * for itself (a constraint, a value too large) is left out and its key returned in `refused`;
   * a busy or damaged database fails the whole call, which writes nothing. An entry whose
   * `writeKey` is in `spool_applied` was stored by that write: it is skipped (neither written nor refused).
   */
  abstract storeSpooled(entries: readonly SpooledExchange[]): Promise<{ written: number; refused: string[] }>;
  /** Drops the kept keys (and the write keys) once the spool no longer lists their exchanges. */
  abstract forgetSpooled(keys: readonly string[]): Promise<void>;
}
