import type { ConversationSource, ConversationStatus } from './conversation.entity';
import type { SearchQuery } from './search-query';
import type { ExchangeKind, StoredAnswer, StoredRequest } from './stored-exchange';

/** One stored exchange as the read side sees it. */
export interface ConversationRecord {
  id: number;
  /** When it was stored (millisecond precision). */
  ts: Date;
  prompt: string;
  response: string;
  source: ConversationSource;
  sessionId: string | null;
  rating: number | null;
  tags: string | null;
  notes: string | null;
  reviewed: boolean;
  model: string | null;
  status: ConversationStatus;
  promptTokens: number | null;
  completionTokens: number | null;
  durationMs: number | null;
  ttftMs: number | null;
  /** The backend's time spent generating, in ms (0 for a cached answer); null: stored before it was kept. */
  modelMs: number | null;
  kind: ExchangeKind;
  /** The key that made it; null: the CLI, or stored before Vega recorded keys. */
  keyId: string | null;
  /** The model that answered (`model` is the one asked for; a fallback may have served it); null: none did, or stored before it was kept. */
  servedModel: string | null;
  /** The model server (target) that answered, by name; null: the cache, none did, or stored before it was kept. */
  target: string | null;
}

/** One exchange in full: the row plus its whole request and answer (null for rows stored before they were kept). */
export interface ConversationExchange extends ConversationRecord {
  request: StoredRequest | null;
  answer: StoredAnswer | null;
  /** The `resp_…` id of a Responses API exchange (`/v1/responses`); null for the other routes. */
  responseId: string | null;
}

/** A search hit: the row, a short extract around the matches, and its relevance. */
export interface SearchHit extends ConversationRecord {
  /** Matched words wrapped in `SNIPPET_OPEN` / `SNIPPET_CLOSE`; the rest is the stored text. */
  snippet: string;
  /** Relevance as the engine ranks it (higher is more relevant; SQLite: BM25, prompt weighted above response). */
  score: number;
}

/** Control characters that mark the matches in a raw snippet (they never occur in a query term). */
export const SNIPPET_OPEN = '\u0001';
export const SNIPPET_CLOSE = '\u0002';

/** Filters shared by history, search, export and the CLI. */
export interface HistoryFilter {
  /** Only the exchanges of this key (its own, for a key that may see no other). */
  keyId?: string;
  sessionId?: string;
  source?: ConversationSource;
  /** Inclusive lower bound on `ts`. */
  since?: Date;
  /** Exclusive upper bound on `ts`. */
  until?: Date;
  reviewed?: boolean;
  minRating?: number;
  /** Rows with any of these statuses. */
  statuses?: readonly ConversationStatus[];
  /**
   * Rows carrying any of these tags. Tags are stored as comma-separated text; each stored tag
   * is trimmed (spaces, tabs, line breaks) and its ASCII letters lower-cased before it is
   * compared, so give these the same way (`normaliseTags`).
   */
  tags?: readonly string[];
  /** Only rows that contain every term (`parseSearchQuery`); each adapter builds its own full-text query from it. */
  search?: SearchQuery;
}

/** A conversation brought in from an export: the whole exchange but the id, which the database assigns. */
export type ImportedConversation = Omit<ConversationExchange, 'id'>;

export interface FeedbackChanges {
  rating?: number;
  tags?: string;
  notes?: string;
  reviewed?: boolean;
}

/**
 * The read and maintenance side of the conversations table. Kept apart from
 * `ConversationRepository` (the chat write path) so each can change on its own.
 */
export abstract class ConversationHistoryRepository {
  /** Newest first; rows with `id < beforeId` when given. With `filter.search` and `snippets`, hits carry a snippet. */
  abstract newest(
    filter: HistoryFilter,
    page: { beforeId?: number; limit: number; snippets?: boolean },
  ): Promise<(ConversationRecord | SearchHit)[]>;
  /** Like `newest` without snippets, each row in full (request and answer): what an export reads. */
  abstract newestExchanges(filter: HistoryFilter, page: { beforeId?: number; limit: number }): Promise<ConversationExchange[]>;
  /**
   * Rows matching `filter.search` among rows with `id <= maxId`: answered ones (`ok`, `cached`)
   * first, then failed ones (`error`, `aborted`), each group most relevant first. Only the newest
   * `matches` rows that match are ranked: scoring reads every match, so a word in a large share of
   * the rows would otherwise cost a read of that share on every page.
   */
  abstract ranked(
    filter: HistoryFilter & { search: SearchQuery },
    page: { maxId: number; offset: number; limit: number; matches: number },
  ): Promise<SearchHit[]>;
  /**
   * A session's exchanges, oldest first; rows with `id > afterId` when given.
   *
   * `owner`, here and below: only a row of that key counts; another key's row is treated as
   * absent, so its id tells the caller nothing. Absent: any row.
   */
  abstract session(sessionId: string, page: { afterId?: number; limit: number }, owner?: string): Promise<ConversationRecord[]>;
  abstract findById(id: number, owner?: string): Promise<ConversationRecord | null>;
  /** The exchange in full (`findById` plus request and answer). */
  abstract findExchange(id: number, owner?: string): Promise<ConversationExchange | null>;
  /**
   * The exchange in full that answered a Responses API request under this `resp_…` id; with
   * `owner`, only when that key made it.
   */
  abstract findByResponseId(responseId: string, owner?: string): Promise<ConversationExchange | null>;
  /** Returns false when there was no such row. */
  abstract delete(id: number, owner?: string): Promise<boolean>;
  /** Applies the changes and returns the updated row, or null when there is no such row. */
  abstract updateFeedback(id: number, changes: FeedbackChanges, owner?: string): Promise<ConversationRecord | null>;
  /** Deletes up to `batch` rows stored before `before`; returns how many. */
  abstract purgeBatch(before: Date, batch: number): Promise<number>;
  /** The highest id in use (0 when empty). */
  abstract maxId(): Promise<number>;
  abstract count(): Promise<number>;
  /**
   * Inserts the rows in one transaction (new ids, in order); returns how many. A row whose
   * `responseId` the database already holds (the same export imported twice) comes in without
   * it: response ids are unique, and the first copy keeps answering to it.
   */
  abstract importMany(rows: ImportedConversation[]): Promise<number>;
}
