import { Injectable } from '@nestjs/common';
import type { QueryRunner } from 'typeorm';
import { IMPORT_COLUMNS, ImportEncoding, importValues, parseStoredJson } from '../conversation-import';
import { SqlConversationHistoryRepository } from '../sql-conversation-history.repository';
import type { SearchQuery } from '../search-query';
import { headlineSql, SEARCH_CONFIG, searchTextSql, tsquerySql } from './postgres-search';
import { pgText, SqlParams } from './sql-params';
import {
  ConversationExchange,
  ConversationRecord,
  FeedbackChanges,
  HistoryFilter,
  ImportedConversation,
  SearchHit,
} from '../conversation-history.repository';

const COLUMNS = `c.id, c.ts, c.prompt, c.response, c.source, c.session_id AS "sessionId", c.rating, c.tags, c.notes,
  c.reviewed, c.model, c.status, c.prompt_tokens AS "promptTokens", c.completion_tokens AS "completionTokens",
  c.duration_ms AS "durationMs", c.ttft_ms AS "ttftMs", c.model_ms AS "modelMs", c.kind, c.key_id AS "keyId",
  c.served_model AS "servedModel", c.target`;
/** The whole exchange besides the row: its request and answer. */
const WHOLE = 'c.request, c.answer, c.response_id AS "responseId"';

/**
 * Relevance: `ts_rank_cd` on the A (prompt) and B (response, tools) weights, so a prompt match
 * counts more; normalisation 2 divides by the document's length, so a short exchange that
 * matches ranks above a long one that matches as often (as BM25 does on SQLite).
 */
const SCORE = 'ts_rank_cd(c.search_vector, s.q, 2)';
/** 1 for an exchange without a full answer, which ranked search puts after the answered ones. */
const FAILED = `(c.status IN ('error', 'aborted'))`;
/**
 * The snippet comes from the column that matches: the prompt (weight A), else the response, else
 * the tool words; the prompt when the terms are spread over several.
 */
/** Ids below a search page's start that the primary key walk tests before the GIN index is asked (see `newestMatches`). */
const SEARCH_WINDOW = 5000;

const SNIPPET = `CASE WHEN ts_filter(c.search_vector, '{a}') @@ s.q THEN ${headlineSql('c.prompt', 's.q')}
  WHEN to_tsvector('${SEARCH_CONFIG}', ${searchTextSql('c.response')}) @@ s.q THEN ${headlineSql('c.response', 's.q')}
  WHEN c.tool_text IS NOT NULL AND to_tsvector('${SEARCH_CONFIG}', ${searchTextSql('c.tool_text')}) @@ s.q THEN ${headlineSql('c.tool_text', 's.q')}
  ELSE ${headlineSql('c.prompt', 's.q')} END`;

/** 65,535 bound values per statement at most; 1,000 rows of 24 columns stay well below. */
const IMPORT_ROWS_PER_STATEMENT = 1000;
/** `reviewed` is an integer 0/1, as on SQLite (the schema is the same on both). */
const POSTGRES_ENCODING: ImportEncoding = { ts: (date) => date, flag: (value) => (value ? 1 : 0) };

/** A row as the `pg` driver returns it: counts of bigint columns as text, JSON columns as text or parsed (jsonb). */
type Row = Omit<ConversationRecord, 'ts' | 'id' | 'reviewed'> & { id: number | string; ts: Date | string; reviewed: number };
type HitRow = Row & { snippet: string; score: number };
type ExchangeRow = Row & { request: unknown; answer: unknown; responseId: string | null };

/**
 * PostgreSQL adapter of the read side. Plain history walks the primary key (or the session
 * index) backwards, so a page costs the same at any depth; search goes through the GIN index on
 * the generated `search_vector` column (see postgres-search.ts for the query it builds).
 */
@Injectable()
export class PostgresConversationHistoryRepository extends SqlConversationHistoryRepository {
  protected readonly importRowsPerStatement = IMPORT_ROWS_PER_STATEMENT;

  async newest(
    filter: HistoryFilter,
    page: { beforeId?: number; limit: number; snippets?: boolean },
  ): Promise<(ConversationRecord | SearchHit)[]> {
    const snippets = filter.search !== undefined && page.snippets !== false;
    if (!snippets) return (await this.newestRows<Row>(COLUMNS, filter, page)).map(toRecord);
    return (await this.newestRows<HitRow>(`${COLUMNS}, ${SNIPPET} AS snippet, ${SCORE} AS score`, filter, page)).map(toHit);
  }

  async newestExchanges(filter: HistoryFilter, page: { beforeId?: number; limit: number }): Promise<ConversationExchange[]> {
    return (await this.newestRows<ExchangeRow>(`${COLUMNS}, ${WHOLE}`, filter, page)).map(toExchange);
  }

  /** The `columns` of the newest rows matching `filter`, below `beforeId`. */
  private async newestRows<T>(columns: string, filter: HistoryFilter, page: { beforeId?: number; limit: number }): Promise<T[]> {
    const params = new SqlParams();
    const { clauses, search } = matching(filter, params);
    if (search === undefined) {
      if (page.beforeId !== undefined) clauses.push(`c.id < ${params.bind(page.beforeId)}`);
      return this.query(`SELECT ${columns} FROM conversations c ${whereSql(clauses)} ORDER BY c.id DESC LIMIT ${params.bind(page.limit)}`, params.values);
    }
    const ids = await this.newestMatches(clauses, search, params, page.beforeId ?? (await this.maxId()) + 1, page.limit);
    if (ids.length === 0) return [];
    // The page's rows in full, with the search again for snippets and scores (its values alone: an unused one would fail the statement).
    const rowParams = new SqlParams();
    const q = tsquerySql(filter.search!, rowParams);
    return this.query(
      `SELECT ${columns} FROM conversations c CROSS JOIN (SELECT ${q} AS q) s WHERE c.id = ANY(${rowParams.bind(ids)}) ORDER BY c.id DESC`,
      rowParams.values,
    );
  }

  /**
   * The ids of the newest rows below `below` that meet `clauses` (a search among them). Walking the
   * primary key down and testing each row finds a common word's newest rows at once, but reads
   * the whole table for a rare one; reading every match from the GIN index is the reverse. The
   * planner cannot tell them apart (a word outside the column's statistics is guessed at 0.5 % of
   * the rows), so: the walk, over the `SEARCH_WINDOW` ids below `below` alone, then, if that did not
   * fill the page, the index for the rest (a word that rare has few matches). 300k rows: a rare
   * word 330 ms → a few ms; a common one stays a few ms.
   */
  private async newestMatches(clauses: string[], search: string, params: SqlParams, below: number, limit: number): Promise<number[]> {
    const low = below - SEARCH_WINDOW;
    const ids = async (match: string, range: (scoped: SqlParams) => string, order: string, count: number) => {
      // Each statement binds its own bounds after the shared conditions' values.
      const scoped = new SqlParams();
      scoped.values.push(...params.values);
      const sql = `SELECT c.id FROM conversations c WHERE ${[match, ...clauses, range(scoped)].join(' AND ')} ORDER BY ${order} DESC LIMIT ${scoped.bind(count)}`;
      const rows: { id: number | string }[] = await this.query(sql, scoped.values);
      return rows.map((row) => Number(row.id));
    };
    // `ts_match_vq` is `@@` that no index answers: the planner must walk the key (it would AND the whole GIN match list with the range).
    const recent = await ids(`ts_match_vq(c.search_vector, ${search})`, (p) => `c.id < ${p.bind(below)} AND c.id >= ${p.bind(low)}`, 'c.id', limit);
    if (recent.length === limit || low <= 1) return recent;
    // `c.id + 0`: the same order, which the primary key cannot give, so the planner reads the matches from the index.
    return [...recent, ...(await ids(`c.search_vector @@ ${search}`, (p) => `c.id < ${p.bind(low)}`, 'c.id + 0', limit - recent.length))];
  }

  async ranked(
    filter: HistoryFilter & { search: SearchQuery },
    page: { maxId: number; offset: number; limit: number; matches: number },
  ): Promise<SearchHit[]> {
    const params = new SqlParams();
    const { clauses, search } = matching(filter, params);
    clauses.push(`c.id <= ${params.bind(page.maxId)}`);
    const walk = await this.walkFindsNewestSooner(clauses, search!, params, page);
    // The newest `matches` matches: by walking the primary key down (`ts_match_vq`: no index), or
    // from the GIN index, sorted (`c.id + 0`: an order the primary key cannot give).
    const newest = walk
      ? `SELECT c.id FROM conversations c WHERE ts_match_vq(c.search_vector, ${search}) AND ${clauses.join(' AND ')} ORDER BY c.id DESC`
      : `SELECT c.id FROM conversations c WHERE c.search_vector @@ ${search} AND ${clauses.join(' AND ')} ORDER BY c.id + 0 DESC`;
    // Rank those on the table alone, then build snippets for that page only (a snippet per match would cost more than the ranking).
    const rows: HitRow[] = await this.query(
      `WITH newest AS (${newest} LIMIT ${params.bind(page.matches)}),
       ranked AS (
         SELECT c.id, ${FAILED} AS failed, ${SCORE} AS score FROM newest JOIN conversations c ON c.id = newest.id CROSS JOIN (SELECT ${search} AS q) s
          ORDER BY 2, 3 DESC, c.id DESC LIMIT ${params.bind(page.limit)} OFFSET ${params.bind(page.offset)}
       )
       SELECT ${COLUMNS}, ${SNIPPET} AS snippet, ranked.score
         FROM ranked JOIN conversations c ON c.id = ranked.id CROSS JOIN (SELECT ${search} AS q) s
        ORDER BY ranked.failed, ranked.score DESC, ranked.id DESC`,
      params.values,
    );
    return rows.map(toHit);
  }

  /**
   * Whether walking the primary key down finds a search's newest `matches` matches sooner than
   * reading every match from the GIN index: the walk reads about `matches × maxId / m` rows when
   * `m` rows match, the index all `m` (each a read of its own page, about twice a walked row's
   * cost). `m` is the planner's estimate, from the column's statistics (exact enough for the
   * common words where the choice matters; a rare word's guess is small, and the index is right
   * for it).
   */
  private async walkFindsNewestSooner(clauses: string[], search: string, params: SqlParams, page: { maxId: number; matches: number }): Promise<boolean> {
    const [row]: { 'QUERY PLAN': [{ Plan: { 'Plan Rows': number } }] }[] = await this.query(
      `EXPLAIN (FORMAT JSON) SELECT 1 FROM conversations c WHERE c.search_vector @@ ${search} AND ${clauses.join(' AND ')}`,
      params.values,
    );
    const estimated = row['QUERY PLAN'][0].Plan['Plan Rows'];
    return estimated > page.matches && (page.matches * page.maxId) / estimated < 2 * estimated;
  }

  async session(sessionId: string, page: { afterId?: number; limit: number }, owner?: string): Promise<ConversationRecord[]> {
    const params = new SqlParams();
    const rows: Row[] = await this.query(
      `SELECT ${COLUMNS} FROM conversations c
        WHERE c.session_id = ${params.bind(sessionId)} AND c.id > ${params.bind(page.afterId ?? 0)} ${ownerSql(owner, params)}
        ORDER BY c.id ASC LIMIT ${params.bind(page.limit)}`,
      params.values,
    );
    return rows.map(toRecord);
  }

  async findById(id: number, owner?: string): Promise<ConversationRecord | null> {
    const rows = await this.one<Row>(COLUMNS, 'c.id', id, owner);
    return rows.length > 0 ? toRecord(rows[0]) : null;
  }

  async findExchange(id: number, owner?: string): Promise<ConversationExchange | null> {
    const rows = await this.one<ExchangeRow>(`${COLUMNS}, ${WHOLE}`, 'c.id', id, owner);
    return rows.length > 0 ? toExchange(rows[0]) : null;
  }

  async findByResponseId(responseId: string, owner?: string): Promise<ConversationExchange | null> {
    const rows = await this.one<ExchangeRow>(`${COLUMNS}, ${WHOLE}`, 'c.response_id', responseId, owner);
    return rows.length > 0 ? toExchange(rows[0]) : null;
  }

  private one<T>(columns: string, column: string, value: unknown, owner?: string): Promise<T[]> {
    const params = new SqlParams();
    return this.query(`SELECT ${columns} FROM conversations c WHERE ${column} = ${params.bind(value)} ${ownerSql(owner, params)}`, params.values);
  }

  async delete(id: number, owner?: string): Promise<boolean> {
    const params = new SqlParams();
    return (await this.changes(`DELETE FROM conversations c WHERE c.id = ${params.bind(id)} ${ownerSql(owner, params)}`, params.values)) === 1;
  }

  async updateFeedback(id: number, changes: FeedbackChanges, owner?: string): Promise<ConversationRecord | null> {
    const params = new SqlParams();
    const given = Object.entries({ rating: changes.rating, tags: changes.tags, notes: changes.notes, reviewed: changes.reviewed === undefined ? undefined : POSTGRES_ENCODING.flag(changes.reviewed) }).filter(
      ([, value]) => value !== undefined,
    );
    if (given.length > 0) {
      const sets = given.map(([column, value]) => `${column} = ${params.bind(value)}`).join(', ');
      const sql = `UPDATE conversations c SET ${sets} WHERE c.id = ${params.bind(id)} ${ownerSql(owner, params)}`;
      if ((await this.changes(sql, params.values)) !== 1) return null;
    }
    return this.findById(id, owner);
  }

  async purgeBatch(before: Date, batch: number): Promise<number> {
    return this.changes(`DELETE FROM conversations WHERE id IN (SELECT id FROM conversations WHERE ts < $1 ORDER BY ts LIMIT $2)`, [before, batch]);
  }

  async maxId(): Promise<number> {
    const [row]: { n: number | string | null }[] = await this.query(`SELECT max(id) AS n FROM conversations`);
    return Number(row?.n ?? 0);
  }

  async count(): Promise<number> {
    const [row]: { n: number | string }[] = await this.query(`SELECT count(*) AS n FROM conversations`);
    return Number(row.n);
  }

  protected async takenResponseIds(runner: QueryRunner, ids: string[]): Promise<string[]> {
    const params = new SqlParams();
    const found: { response_id: string }[] = await runner.query(`SELECT response_id FROM conversations WHERE response_id = ANY(${params.bind(ids)})`, params.values);
    const held = new Set(found.map((row) => row.response_id));
    return ids.filter((id) => held.has(pgText(id)));
  }

  protected async insertImported(runner: QueryRunner, rows: ImportedConversation[]): Promise<void> {
    const params = new SqlParams();
    const tuples = rows.map((row) => `(${params.list(importValues(row, POSTGRES_ENCODING))})`).join(', ');
    await runner.query(`INSERT INTO conversations (${IMPORT_COLUMNS.join(', ')}) VALUES ${tuples}`, params.values);
  }
}

/** The conditions of `filter` but the search, and the search's `tsquery` (SQL) when there is one. */
function matching(filter: HistoryFilter, params: SqlParams): { clauses: string[]; search?: string } {
  const clauses: string[] = [];
  const search = filter.search === undefined ? undefined : tsquerySql(filter.search, params);
  if (filter.keyId !== undefined) clauses.push(`c.key_id = ${params.bind(filter.keyId)}`);
  if (filter.sessionId !== undefined) clauses.push(`c.session_id = ${params.bind(filter.sessionId)}`);
  if (filter.source !== undefined) clauses.push(`c.source = ${params.bind(filter.source)}`);
  if (filter.since !== undefined) clauses.push(`c.ts >= ${params.bind(filter.since)}`);
  if (filter.until !== undefined) clauses.push(`c.ts < ${params.bind(filter.until)}`);
  if (filter.reviewed !== undefined) clauses.push(filter.reviewed ? 'c.reviewed <> 0' : 'c.reviewed = 0');
  if (filter.minRating !== undefined) clauses.push(`c.rating >= ${params.bind(filter.minRating)}`);
  if (filter.statuses !== undefined) clauses.push(`c.status = ANY(${params.bind(filter.statuses)})`);
  if (filter.tags !== undefined && filter.tags.length > 0) {
    // Each stored tag trimmed and its ASCII letters lower-cased, as `HistoryFilter.tags` says (lower() would fold the others too).
    clauses.push(`EXISTS (SELECT 1 FROM unnest(string_to_array(c.tags, ',')) AS t(tag)
      WHERE translate(btrim(t.tag, E' \\t\\n\\r'), 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz') = ANY(${params.bind(filter.tags)}))`);
  }
  return { clauses, search };
}

/** The extra condition that keeps a statement to `owner`'s rows (none without an owner). */
const ownerSql = (owner: string | undefined, params: SqlParams) => (owner === undefined ? '' : `AND c.key_id = ${params.bind(owner)}`);
const whereSql = (clauses: string[]) => (clauses.length > 0 ? `WHERE ${clauses.join(' AND ')}` : '');

function toRecord(row: Row): ConversationRecord {
  const { snippet: _snippet, score: _score, ...rest } = row as Row & { snippet?: unknown; score?: unknown };
  return {
    ...rest,
    id: Number(row.id),
    ts: row.ts instanceof Date ? row.ts : new Date(row.ts),
    reviewed: row.reviewed !== 0 && row.reviewed !== null,
  };
}

function toHit(row: HitRow): SearchHit {
  return { ...toRecord(row), snippet: row.snippet, score: Number(row.score) };
}

function toExchange({ request, answer, responseId, ...row }: ExchangeRow): ConversationExchange {
  return { ...toRecord(row), request: jsonColumn(request), answer: jsonColumn(answer), responseId: responseId ?? null };
}

/** A JSON column as text (parsed here) or as jsonb (parsed by the driver). */
const jsonColumn = <T>(value: unknown): T | null => (typeof value === 'string' ? parseStoredJson<T>(value) : ((value ?? null) as T | null));
