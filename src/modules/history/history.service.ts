import { Injectable } from '@nestjs/common';
import { AppConfig } from '../../config/app-config';
import { CallerContext } from '../../common/auth/caller-context';
import { historyOwner, seesTargets } from '../../common/auth/principal';
import { ForbiddenError, InvalidInputError, NotFoundError } from '../../common/errors/app-errors';
import { CONVERSATION_STATUSES, type ConversationSource, type ConversationStatus } from '../../core/persistence/conversation.entity';
import {
  ConversationHistoryRepository,
  ConversationExchange,
  ConversationRecord,
  FeedbackChanges,
  HistoryFilter,
  SearchHit,
} from '../../core/persistence/conversation-history.repository';
import { parseSearchQuery } from '../../core/persistence/search-query';
import { decodeCursor, encodeCursor, searchFingerprint } from './history-cursor';

export type HistorySort = 'newest' | 'relevance';

/** What a caller (HTTP query, CLI flags) may ask of the history. */
export interface HistoryQuery {
  /** Only this key's exchanges: any key's for a caller that sees every key's, else its own id alone. */
  keyId?: string;
  sessionId?: string;
  source?: ConversationSource;
  /** Inclusive. */
  since?: Date;
  /** Exclusive. */
  until?: Date;
  reviewed?: boolean;
  minRating?: number;
  /** Any of these statuses. */
  statuses?: readonly ConversationStatus[];
  /** Any of these tags (case-insensitive, see `normaliseTags`). */
  tags?: readonly string[];
  /** Words and "quoted phrases", all required. */
  q?: string;
}

export interface PageRequest {
  limit: number;
  cursor?: string;
}

export interface Page<T> {
  items: T[];
  /** Pass back as `cursor` for the next page; null on the last page. */
  nextCursor: string | null;
}

const EXPORT_BATCH = 1000;
/**
 * Whole exchanges weigh anything from a few hundred bytes to megabytes (a request carries the
 * conversation it was sent with, and with STORE_IMAGES=true its images' bytes), so their batches
 * are sized by weight: as many rows as fit in about this many characters, judged by the previous
 * batch, starting small. Peak RSS growth while exporting (one run each, in-process client):
 * 3,000 exchanges of 100 kB: batches of 1,000 rows +680 MB, of 100 rows +146 MB, by weight +145 MB;
 * 300 exchanges of 1 MB: batches of 1,000 or 100 rows +690 MB, by weight +350 MB.
 */
const EXCHANGE_BATCH_CHARS = 4 * 1024 * 1024;
const FIRST_EXCHANGE_BATCH = 16;

/**
 * History, sessions, search, feedback and deletion: the read side of the conversations, for the
 * API and the CLI. A caller whose key may see only its own exchanges (`history:own`) gets only
 * those, whatever it asks: each read and change goes to the repository with the key as owner,
 * and another key's exchange is as absent as one that never existed (404, so ids leak nothing).
 * Only admin keys see the `target` (model server) that answered: the others' rows have it null.
 * The CLI has no caller and reads every row.
 */
@Injectable()
export class HistoryService {
  constructor(
    private readonly repository: ConversationHistoryRepository,
    private readonly caller: CallerContext,
    private readonly config: AppConfig,
  ) {}

  /** The key whose rows alone the caller may touch; undefined: every key's. */
  private owner(): string | undefined {
    return historyOwner(this.caller.current());
  }

  /** The row as the caller may see it: the model server's name only for a caller that `seesTargets`. */
  private shown<T extends ConversationRecord>(row: T): T {
    return row.target === null || seesTargets(this.caller.current()) ? row : { ...row, target: null };
  }

  /** Validates the query and turns it into a repository filter (the search read into terms), kept to the caller's rows. */
  toFilter(query: HistoryQuery): HistoryFilter {
    const owner = this.owner();
    if (owner !== undefined && query.keyId !== undefined && query.keyId !== owner) {
      throw new ForbiddenError('key_id names another key: this key holds history:own and sees only its own exchanges (history:all sees every key\'s)');
    }
    for (const field of ['since', 'until'] as const) {
      const value = query[field];
      if (value && Number.isNaN(value.getTime())) throw new InvalidInputError(`${field} must be an ISO 8601 date or date-time, e.g. 2026-11-01 or 2026-11-01T12:00:00Z`);
    }
    if (query.since && query.until && query.since.getTime() >= query.until.getTime()) {
      throw new InvalidInputError('since must be earlier than until');
    }
    return {
      keyId: owner ?? query.keyId,
      sessionId: query.sessionId,
      source: query.source,
      since: query.since,
      until: query.until,
      reviewed: query.reviewed,
      minRating: query.minRating,
      // In one order, each once: `ok,cached` and `cached,ok` are the same search (and cursor).
      statuses: query.statuses === undefined ? undefined : CONVERSATION_STATUSES.filter((status) => query.statuses!.includes(status)),
      tags: query.tags === undefined ? undefined : normaliseTags(query.tags),
      search: query.q === undefined ? undefined : parseSearchQuery(query.q),
    };
  }

  /**
   * One page of history. Without `q`, or with `sort: 'newest'`, newest first by id (keyset:
   * no row is repeated or skipped while rows are added). With `q`, by default answered exchanges
   * first, then failed ones, each most relevant first, among the newest `SEARCH_RANK_MATCHES`
   * matches of the rows that existed when the first page was asked for.
   */
  async page(query: HistoryQuery, page: PageRequest, sort?: HistorySort): Promise<Page<ConversationRecord | SearchHit>> {
    const filter = this.toFilter(query);
    const order = sort ?? (filter.search ? 'relevance' : 'newest');
    const cursor = page.cursor === undefined ? undefined : decodeCursor(page.cursor);
    if (order === 'relevance') {
      if (!filter.search) throw new InvalidInputError('sort=relevance needs a search: give q');
      const search = searchFingerprint(JSON.stringify(filter));
      if (cursor && (cursor.kind !== 'rank' || cursor.search !== search)) {
        throw new InvalidInputError('cursor does not belong to this search: start again without cursor');
      }
      const maxId = cursor?.kind === 'rank' ? cursor.maxId : await this.repository.maxId();
      const offset = cursor?.kind === 'rank' ? cursor.offset : 0;
      const rows = await this.repository.ranked({ ...filter, search: filter.search }, { maxId, offset, limit: page.limit + 1, matches: this.config.history.rankMatches });
      const items = rows.slice(0, page.limit).map((row) => this.shown(row));
      const more = rows.length > page.limit;
      return { items, nextCursor: more ? encodeCursor({ kind: 'rank', offset: offset + page.limit, maxId, search }) : null };
    }
    if (cursor && cursor.kind !== 'id') throw new InvalidInputError('cursor belongs to a relevance-sorted search, not to sort=newest');
    const rows = await this.repository.newest(filter, { beforeId: cursor?.id, limit: page.limit + 1 });
    const items = rows.slice(0, page.limit).map((row) => this.shown(row));
    const last = items.at(-1);
    return { items, nextCursor: rows.length > page.limit && last ? encodeCursor({ kind: 'id', id: last.id }) : null };
  }

  /** A session's exchanges, oldest first. */
  async session(sessionId: string, page: PageRequest): Promise<Page<ConversationRecord>> {
    const cursor = page.cursor === undefined ? undefined : decodeCursor(page.cursor);
    if (cursor && cursor.kind !== 'id') throw new InvalidInputError('cursor does not belong to a session listing');
    const rows = await this.repository.session(sessionId, { afterId: cursor?.id, limit: page.limit + 1 }, this.owner());
    const items = rows.slice(0, page.limit).map((row) => this.shown(row));
    const last = items.at(-1);
    return { items, nextCursor: rows.length > page.limit && last ? encodeCursor({ kind: 'id', id: last.id }) : null };
  }

  /** The exchange in full: kind, whole request and answer besides the row. */
  async get(id: number): Promise<ConversationExchange> {
    const row = await this.repository.findExchange(id, this.owner());
    if (!row) throw notFound(id);
    return this.shown(row);
  }

  /** Removes the exchange from the history and from the search index. */
  async delete(id: number): Promise<void> {
    if (!(await this.repository.delete(id, this.owner()))) throw notFound(id);
  }

  async feedback(id: number, changes: FeedbackChanges): Promise<ConversationRecord> {
    if (Object.values(changes).every((value) => value === undefined)) {
      throw new InvalidInputError('give at least one of rating, tags, notes, reviewed');
    }
    const row = await this.repository.updateFeedback(id, changes, this.owner());
    if (!row) throw notFound(id);
    return this.shown(row);
  }

  /**
   * Every matching row, newest first, read in keyset-paged batches: memory stays flat however
   * large the table, and the consumer's pace (a slow HTTP client) sets the reading pace.
   */
  export(query: HistoryQuery): AsyncGenerator<ConversationRecord> {
    // The filter is checked now, before anything is read or sent.
    return keysetWalk(this.toFilter(query), EXPORT_BATCH, (filter, page) => this.repository.newest(filter, { ...page, snippets: false }), () => EXPORT_BATCH);
  }

  /** Like `export`, each row in full (kind, whole request and answer), as `GET /conversations/{id}` has it. */
  exportExchanges(query: HistoryQuery): AsyncGenerator<ConversationExchange> {
    return keysetWalk(this.toFilter(query), FIRST_EXCHANGE_BATCH, (filter, page) => this.repository.newestExchanges(filter, page), (rows) => {
      const chars = rows.reduce((sum, row) => sum + row.prompt.length + row.response.length + textChars(row.request) + textChars(row.answer), 0);
      return Math.max(1, Math.min(EXPORT_BATCH, Math.floor(EXCHANGE_BATCH_CHARS / Math.max(1, chars / rows.length))));
    });
  }
}

/** Reads batch after batch below the last id seen; `next` sizes the next batch from the one just read. */
async function* keysetWalk<T extends { id: number }>(
  filter: HistoryFilter,
  first: number,
  read: (filter: HistoryFilter, page: { beforeId?: number; limit: number }) => Promise<T[]>,
  next: (rows: T[]) => number,
): AsyncGenerator<T> {
  let beforeId: number | undefined;
  let batch = first;
  for (;;) {
    const rows = await read(filter, { beforeId, limit: batch });
    yield* rows;
    if (rows.length < batch) return;
    beforeId = rows[rows.length - 1].id;
    batch = next(rows);
  }
}

/** About how many characters a stored object holds as JSON: its strings, plus a little for each value. */
function textChars(value: unknown, depth = 0): number {
  if (typeof value === 'string') return value.length + 8;
  if (value === null || typeof value !== 'object' || depth > 64) return 8;
  let sum = 8;
  for (const item of Object.values(value)) sum += textChars(item, depth + 1);
  return sum;
}

/**
 * Tags as the filter compares them, the way SQL treats the stored ones: spaces, tabs and line
 * breaks trimmed, ASCII letters lower-cased (SQLite's `lower()` leaves other letters alone, so
 * `QUALITé` matches `qualité` but `ÉTÉ` does not match `été`), empty ones dropped, each once. A filter that
 * names no tag at all is refused (it would match nothing, silently).
 */
export function normaliseTags(tags: readonly string[]): string[] {
  const normalise = (tag: string) => tag.replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, '').replace(/[A-Z]/g, (letter) => letter.toLowerCase());
  const clean = [...new Set(tags.map(normalise).filter((tag) => tag !== ''))];
  if (clean.length === 0) throw new InvalidInputError('tags must name at least one tag, e.g. good,concise');
  return clean;
}

const notFound = (id: number) => new NotFoundError(`Conversation ${id} not found`);
