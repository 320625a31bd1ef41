import { Injectable } from '@nestjs/common';
import type { QueryRunner } from 'typeorm';
import type { SearchQuery } from '../search-query';
import { ImportEncoding, IMPORT_COLUMNS, importValues, parseStoredJson } from '../conversation-import';
import { SqlConversationHistoryRepository } from '../sql-conversation-history.repository';
import { ftsMatch } from './fts-match';
import { fromStoredTs, storedTs } from './sqlite-time';
import {
  ConversationExchange,
  ConversationRecord,
  FeedbackChanges,
  HistoryFilter,
  ImportedConversation,
  SearchHit,
} from '../conversation-history.repository';

const COLUMNS = `c.id, c.ts, c.prompt, c.response, c.source, c.session_id AS sessionId, c.rating, c.tags, c.notes,
  c.reviewed, c.model, c.status, c.prompt_tokens AS promptTokens, c.completion_tokens AS completionTokens,
  c.duration_ms AS durationMs, c.ttft_ms AS ttftMs, c.model_ms AS modelMs, c.kind, c.key_id AS keyId,
  c.served_model AS servedModel, c.target`;

/** Prompt matches count twice as much as response matches. */
const BM25 = 'bm25(conversations_fts, 2.0, 1.0)';
/** The best-matching column, up to 16 tokens, matches between \x01 and \x02. */
const SNIPPET = `snippet(conversations_fts, -1, char(1), char(2), '…', 16)`;
const FROM_FTS = 'conversations_fts JOIN conversations c ON c.id = conversations_fts.rowid';
/**
 * 1 for an exchange without a full answer (`error`, `aborted`), else 0. The set comes from the
 * partial index `ix_conv_failed` (its WHERE must stay the same text), read once per query, so
 * ranking by it needs no read of the matching rows themselves.
 */
const FAILED = `conversations_fts.rowid IN (SELECT id FROM conversations WHERE status IN ('error', 'aborted'))`;

/** Splits the row's comma-separated `tags` into one row per tag (SQLite has no split function). */
const TAG_SPLIT = `WITH RECURSIVE split(tag, rest) AS (
    SELECT NULL, c.tags || ',' UNION ALL SELECT substr(rest, 1, instr(rest, ',') - 1), substr(rest, instr(rest, ',') + 1) FROM split WHERE rest <> ''
  ) SELECT 1 FROM split`;

const IMPORT_PLACEHOLDERS = `(${IMPORT_COLUMNS.map(() => '?').join(', ')})`;
/** SQLite's historical limit of 999 bound values per statement. */
const IMPORT_ROWS_PER_STATEMENT = Math.floor(999 / IMPORT_COLUMNS.length);
const SQLITE_ENCODING: ImportEncoding = { ts: storedTs, flag: (value) => (value ? 1 : 0) };

/** A row as SQLite returns it: `reviewed` as 0/1, `ts` as stored text. */
type Row = Omit<ConversationRecord, 'reviewed' | 'ts'> & { reviewed: number; ts: string };
/** The whole exchange besides the row: its request and answer as stored JSON text. */
const WHOLE = 'c.request, c.answer, c.response_id AS responseId';
type ExchangeRow = Row & { request: string | null; answer: string | null; responseId: string | null };

/**
 * SQLite adapter of the read side. Plain history walks the primary key (or
 * `ix_conv_session` for a session) backwards, so a page costs the same at any depth; search
 * goes through the FTS5 index.
 */
@Injectable()
export class SqliteConversationHistoryRepository extends SqlConversationHistoryRepository {
  protected readonly importRowsPerStatement = IMPORT_ROWS_PER_STATEMENT;

  async newest(
    filter: HistoryFilter,
    page: { beforeId?: number; limit: number; snippets?: boolean },
  ): Promise<(ConversationRecord | SearchHit)[]> {
    const snippets = filter.search !== undefined && page.snippets !== false;
    if (!snippets) return (await this.newestRows<Row>(COLUMNS, filter, page)).map(toRecord);
    const rows = await this.newestRows<Row & { snippet: string; score: number }>(`${COLUMNS}, ${SNIPPET} AS snippet, -${BM25} AS score`, filter, page);
    return rows.map(toHit);
  }

  async newestExchanges(filter: HistoryFilter, page: { beforeId?: number; limit: number }): Promise<ConversationExchange[]> {
    return (await this.newestRows<ExchangeRow>(`${COLUMNS}, ${WHOLE}`, filter, page)).map(toExchange);
  }

  /** The `columns` of the newest rows matching `filter`, below `beforeId`. */
  private newestRows<T>(columns: string, filter: HistoryFilter, page: { beforeId?: number; limit: number }): Promise<T[]> {
    const { clauses, params, add } = conditions(filter);
    if (filter.search === undefined) {
      if (page.beforeId !== undefined) add('c.id < ?', page.beforeId);
      return this.query(`SELECT ${columns} FROM conversations c ${whereSql(clauses)} ORDER BY c.id DESC LIMIT ?`, [...params, page.limit]);
    }
    // Bounds go on the FTS rowid: on `c.id` the planner would walk the table and probe the index per row.
    if (page.beforeId !== undefined) add('conversations_fts.rowid < ?', page.beforeId);
    // FTS5 hands rows out in rowid order itself, so the LIMIT stops the scan early.
    return this.query(
      `SELECT ${columns} FROM ${FROM_FTS}
        WHERE conversations_fts MATCH ? ${andSql(clauses)}
        ORDER BY conversations_fts.rowid DESC LIMIT ?`,
      [ftsMatch(filter.search), ...params, page.limit],
    );
  }

  async ranked(
    filter: HistoryFilter & { search: SearchQuery },
    page: { maxId: number; offset: number; limit: number; matches: number },
  ): Promise<SearchHit[]> {
    const { clauses, params } = conditions(filter);
    const match = ftsMatch(filter.search);
    // First rank, reading only the index (and the table only when a filter needs its columns)…
    const from = clauses.length > 0 ? FROM_FTS : 'conversations_fts';
    const matching = `conversations_fts MATCH ? AND conversations_fts.rowid <= ? ${andSql(clauses)}`;
    // …the newest `matches` matches alone: the rowid of the last of them (FTS5 walks its doclist
    // newest first and stops there), 0 when there are fewer.
    const lowest = `coalesce((SELECT conversations_fts.rowid FROM ${from} WHERE ${matching} ORDER BY conversations_fts.rowid DESC LIMIT 1 OFFSET ?), 0)`;
    const ranked: { id: number }[] = await this.query(
      `SELECT conversations_fts.rowid AS id FROM ${from}
        WHERE ${matching} AND conversations_fts.rowid >= ${lowest}
        ORDER BY ${FAILED}, ${BM25}, conversations_fts.rowid DESC LIMIT ? OFFSET ?`,
      [match, page.maxId, ...params, match, page.maxId, ...params, page.matches - 1, page.limit, page.offset],
    );
    if (ranked.length === 0) return [];
    // …then read the rows and build snippets for that page alone (a snippet per match would cost more than the ranking).
    const ids = ranked.map((row) => row.id);
    const rows: (Row & { snippet: string; score: number })[] = await this.query(
      `SELECT ${COLUMNS}, ${SNIPPET} AS snippet, -${BM25} AS score FROM ${FROM_FTS}
        WHERE conversations_fts MATCH ? AND conversations_fts.rowid IN (${ids.map(() => '?').join(', ')})`,
      [match, ...ids],
    );
    const byId = new Map(rows.map((row) => [row.id, row]));
    return ids.flatMap((id) => {
      const row = byId.get(id);
      return row ? [toHit(row)] : [];
    });
  }

  async session(sessionId: string, page: { afterId?: number; limit: number }, owner?: string): Promise<ConversationRecord[]> {
    const mine = ownerCondition(owner, 'c.');
    const rows: Row[] = await this.query(
      `SELECT ${COLUMNS} FROM conversations c WHERE c.session_id = ? AND c.id > ? ${mine.sql} ORDER BY c.id ASC LIMIT ?`,
      [sessionId, page.afterId ?? 0, ...mine.params, page.limit],
    );
    return rows.map(toRecord);
  }

  async findById(id: number, owner?: string): Promise<ConversationRecord | null> {
    const mine = ownerCondition(owner, 'c.');
    const rows: Row[] = await this.query(`SELECT ${COLUMNS} FROM conversations c WHERE c.id = ? ${mine.sql}`, [id, ...mine.params]);
    return rows.length > 0 ? toRecord(rows[0]) : null;
  }

  async findExchange(id: number, owner?: string): Promise<ConversationExchange | null> {
    const mine = ownerCondition(owner, 'c.');
    const rows: ExchangeRow[] = await this.query(`SELECT ${COLUMNS}, ${WHOLE} FROM conversations c WHERE c.id = ? ${mine.sql}`, [id, ...mine.params]);
    return rows.length > 0 ? toExchange(rows[0]) : null;
  }

  async findByResponseId(responseId: string, owner?: string): Promise<ConversationExchange | null> {
    const mine = ownerCondition(owner, 'c.');
    const rows: ExchangeRow[] = await this.query(`SELECT ${COLUMNS}, ${WHOLE} FROM conversations c WHERE c.response_id = ? ${mine.sql}`, [responseId, ...mine.params]);
    return rows.length > 0 ? toExchange(rows[0]) : null;
  }

  async delete(id: number, owner?: string): Promise<boolean> {
    const mine = ownerCondition(owner);
    return (await this.changes(`DELETE FROM conversations WHERE id = ? ${mine.sql}`, [id, ...mine.params])) === 1;
  }

  async updateFeedback(id: number, changes: FeedbackChanges, owner?: string): Promise<ConversationRecord | null> {
    const values: Record<string, unknown> = {
      rating: changes.rating,
      tags: changes.tags,
      notes: changes.notes,
      reviewed: changes.reviewed === undefined ? undefined : changes.reviewed ? 1 : 0,
    };
    const given = Object.entries(values).filter(([, value]) => value !== undefined);
    const sets = given.map(([column]) => `${column} = ?`);
    const params = given.map(([, value]) => value);
    const mine = ownerCondition(owner);
    if (sets.length > 0) {
      if ((await this.changes(`UPDATE conversations SET ${sets.join(', ')} WHERE id = ? ${mine.sql}`, [...params, id, ...mine.params])) !== 1) return null;
    }
    return this.findById(id, owner);
  }

  async purgeBatch(before: Date, batch: number): Promise<number> {
    return this.changes(
      `DELETE FROM conversations WHERE id IN (SELECT id FROM conversations WHERE ts < ? ORDER BY ts LIMIT ?)`,
      [storedTs(before), batch],
    );
  }

  async maxId(): Promise<number> {
    const [row]: { n: number | null }[] = await this.query(`SELECT max(id) AS n FROM conversations`);
    return row?.n ?? 0;
  }

  async count(): Promise<number> {
    const [row]: { n: number }[] = await this.query(`SELECT count(*) AS n FROM conversations`);
    return row.n;
  }

  protected async takenResponseIds(runner: QueryRunner, ids: string[]): Promise<string[]> {
    const found: { response_id: string }[] = await runner.query(`SELECT response_id FROM conversations WHERE response_id IN (${ids.map(() => '?').join(', ')})`, ids);
    return found.map((row) => row.response_id);
  }

  protected async insertImported(runner: QueryRunner, rows: ImportedConversation[]): Promise<void> {
    const placeholders = rows.map(() => IMPORT_PLACEHOLDERS).join(', ');
    await runner.query(`INSERT INTO conversations (${IMPORT_COLUMNS.join(', ')}) VALUES ${placeholders}`, rows.flatMap((row) => importValues(row, SQLITE_ENCODING)));
  }
}

function conditions(filter: HistoryFilter) {
  const clauses: string[] = [];
  const params: unknown[] = [];
  const add = (clause: string, value?: unknown) => {
    clauses.push(clause);
    if (value !== undefined) params.push(value);
  };
  if (filter.keyId !== undefined) add('c.key_id = ?', filter.keyId);
  if (filter.sessionId !== undefined) add('c.session_id = ?', filter.sessionId);
  if (filter.source !== undefined) add('c.source = ?', filter.source);
  if (filter.since !== undefined) add('c.ts >= ?', storedTs(filter.since));
  if (filter.until !== undefined) add('c.ts < ?', storedTs(filter.until));
  if (filter.reviewed !== undefined) add(filter.reviewed ? 'c.reviewed <> 0' : 'c.reviewed = 0');
  if (filter.minRating !== undefined) add('c.rating >= ?', filter.minRating);
  if (filter.statuses !== undefined) {
    clauses.push(`c.status IN (${filter.statuses.map(() => '?').join(', ')})`);
    params.push(...filter.statuses);
  }
  if (filter.tags !== undefined && filter.tags.length > 0) {
    clauses.push(`c.tags IS NOT NULL AND EXISTS (${TAG_SPLIT} WHERE lower(trim(tag, ' ' || char(9, 10, 13))) IN (${filter.tags.map(() => '?').join(', ')}))`);
    params.push(...filter.tags);
  }
  return { clauses, params, add };
}

/** The extra condition that keeps a single-row statement to `owner`'s rows (none without an owner). */
const ownerCondition = (owner: string | undefined, alias = '') =>
  owner === undefined ? { sql: '', params: [] } : { sql: `AND ${alias}key_id = ?`, params: [owner] };
const whereSql = (clauses: string[]) => (clauses.length > 0 ? `WHERE ${clauses.join(' AND ')}` : '');
const andSql = (clauses: string[]) => clauses.map((clause) => `AND ${clause}`).join(' ');

function toExchange({ request, answer, responseId, ...row }: ExchangeRow): ConversationExchange {
  return { ...toRecord(row), request: parseStoredJson(request), answer: parseStoredJson(answer), responseId: responseId ?? null };
}

function toRecord(row: Row): ConversationRecord {
  const { snippet: _snippet, score: _score, ...rest } = row as Row & { snippet?: unknown; score?: unknown };
  return { ...rest, ts: fromStoredTs(row.ts), reviewed: row.reviewed !== 0 && row.reviewed !== null };
}

function toHit(row: Row & { snippet: string; score: number }): SearchHit {
  return { ...toRecord(row), snippet: row.snippet, score: row.score };
}
