import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { PoolClient } from 'pg';
import { DataSource } from 'typeorm';
import { BatchQueue } from '../batch-queue';
import { ConversationRepository, NewExchange, SpooledExchange, Turn, UncertainWriteError } from '../conversation.repository';
import { DatabaseHealth } from '../database-health';
import { EXCHANGE_COLUMNS } from '../sqlite/exchange-row';
import { exchangeColumnArrays, exchangeInsertSql, isRowFailure } from './pg-exchange-rows';
import { pgPool } from './pg-pool';

/**
 * The most exchanges one INSERT carries: small enough that a burst (many requests ending at once)
 * fills both batches in flight rather than one (500 left the second idle: 9,500 against 15,000
 * rows/s with 256 exchanges in flight), large enough that a statement's own cost stays small.
 */
const MAX_BATCH_ROWS = 128;
/**
 * Batches written at once, each on its own connection: while one waits for its reply (or for
 * the usage rollup's row locks, which concurrent batches take in the same order), the server
 * builds the next one's search vectors and index entries on another core.
 */
const BATCHES_IN_FLIGHT = 2;

const KEY_PARAM = EXCHANGE_COLUMNS.length + 1;
/**
 * The batch's rows, and in the same transaction its write key in `spool_applied` (one row per
 * batch), dropping the keys of the batches whose replies came since: they are needed no more.
 */
const INSERT = {
  name: 'vega_insert_exchanges_keyed',
  text: `WITH stored AS (${exchangeInsertSql(false)}),
    mark AS (INSERT INTO spool_applied (key) VALUES ($${KEY_PARAM})),
    done AS (DELETE FROM spool_applied WHERE key = ANY($${KEY_PARAM + 1}::text[]))
    SELECT id FROM stored ORDER BY id`,
};
const INSERT_AT = exchangeInsertSql(true);

/**
 * PostgreSQL adapter. Concurrent exchanges are stored by one multi-row INSERT (group commit,
 * `BatchQueue`) on a prepared statement: one round trip and one commit per batch, however many
 * requests end at once. A server that is down fails the batch at once; the exchanges then go to
 * the spool (ConversationsService) and are written back by `storeSpooled` when it is up again.
 * A connection lost after the statement was sent leaves the outcome unknown: each batch records
 * a write key with its rows, and the failure carries it (`UncertainWriteError`), so the replay
 * does not store twice what the server had committed.
 */
@Injectable()
export class PostgresConversationRepository extends ConversationRepository implements OnApplicationShutdown {
  private readonly inserts = new BatchQueue<NewExchange>((rows) => this.write(rows), (error) => !isRowFailure(error), MAX_BATCH_ROWS, BATCHES_IN_FLIGHT);
  /** The write keys of the batches whose replies came: the next batch drops them. */
  private answeredWriteKeys: string[] = [];

  constructor(
    private readonly dataSource: DataSource,
    private readonly health: DatabaseHealth,
  ) {
    super();
  }

  insert(exchange: NewExchange): Promise<number> {
    return this.health.guard(this.inserts.insert(exchange));
  }

  async recentTurns(sessionId: string, limit: number, owner?: string): Promise<Turn[]> {
    if (limit <= 0) return [];
    const rows: Turn[] = await this.health.guard(
      this.dataSource.query(
        `SELECT prompt, response FROM conversations
          WHERE session_id = $1 AND status IN ('ok', 'cached') ${owner === undefined ? '' : 'AND key_id = $3'}
          ORDER BY id DESC LIMIT $2`,
        owner === undefined ? [sessionId, limit] : [sessionId, limit, owner],
      ),
    );
    return rows.reverse();
  }

  /**
   * In one transaction, each key recorded in `spool_applied` with its row: a replay cut short and
   * run again stores no row twice. A row the server refuses for itself is rolled back to its
   * savepoint and reported; any other failure rolls the whole replay back.
   * An exchange whose write timed out carries that write's key: the replay claims the key
   * (`wasCommitted`), so a write still in flight on a server that hung is waited for, and one the
   * server only runs later fails on the claimed key: either way the rows are stored once.
   */
  async storeSpooled(entries: readonly SpooledExchange[]): Promise<{ written: number; refused: string[] }> {
    return this.withClient(async (client) => {
      const refused: string[] = [];
      const committed = new Map<string, boolean>();
      let written = 0;
      await client.query('BEGIN');
      try {
        for (const entry of entries) {
          const applied = await client.query('INSERT INTO spool_applied (key) VALUES ($1) ON CONFLICT DO NOTHING', [entry.key]);
          if (applied.rowCount === 0) continue;
          // The write that failed without an answer was committed: the row is there.
          if (entry.writeKey) {
            if (!committed.has(entry.writeKey)) committed.set(entry.writeKey, await wasCommitted(client, entry.writeKey));
            if (committed.get(entry.writeKey)) continue;
          }
          await client.query('SAVEPOINT exchange');
          try {
            await client.query(INSERT_AT, exchangeColumnArrays([entry.exchange], [entry.at]));
            await client.query('RELEASE SAVEPOINT exchange');
            written += 1;
          } catch (error) {
            if (!isRowFailure(error)) throw error;
            await client.query('ROLLBACK TO SAVEPOINT exchange');
            refused.push(entry.key);
          }
        }
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      }
      return { written, refused };
    });
  }

  async forgetSpooled(keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return;
    const all = keys.flatMap((key) => (key.startsWith('write:') ? [key, claimedBy(key)] : [key]));
    await this.health.guard(this.dataSource.query('DELETE FROM spool_applied WHERE key = ANY($1::text[])', [all]));
  }

  /** Lets the queued rows reach the database before the pool closes. */
  async onApplicationShutdown(): Promise<void> {
    await this.inserts.close();
    await this.forgetSpooled(this.answeredWriteKeys).catch(() => undefined);
  }

  private async write(rows: NewExchange[]): Promise<number[]> {
    const writeKey = `write:${randomUUID()}`;
    const answered = this.answeredWriteKeys;
    this.answeredWriteKeys = [];
    let result;
    try {
      result = await pgPool(this.dataSource).query<{ id: number }>({ ...INSERT, values: [...exchangeColumnArrays(rows), writeKey, answered] });
    } catch (error) {
      // Those keys may not have been dropped: the next batch drops them.
      this.answeredWriteKeys.push(...answered);
      // A row's own failure rolled the statement back; anything else may have been committed.
      throw isRowFailure(error) ? error : new UncertainWriteError(writeKey, error);
    }
    this.answeredWriteKeys.push(writeKey);
    return result.rows.map((row) => Number(row.id));
  }

  /** A connection that failed for anything but a row's own fault is dropped, not pooled: it may still wait for a server that hangs. */
  private async withClient<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
    const client = await pgPool(this.dataSource).connect();
    try {
      const result = await work(client);
      client.release();
      return result;
    } catch (error) {
      client.release(isRowFailure(error) ? undefined : (error as Error));
      throw error;
    }
  }
}

/** The marker a replay leaves beside a failed write's key it claimed. */
const claimedBy = (writeKey: string): string => `replayed:${writeKey}`;

/**
 * Whether the write that failed with `writeKey` was committed. The key goes into `spool_applied`
 * now unless it is there: a write still running holds it, so this waits for its outcome; a write
 * the server runs only later conflicts on it and stores nothing. A key already there was put by
 * the write itself, or by an earlier replay of other exchanges of the same batch (its marker).
 */
async function wasCommitted(client: PoolClient, writeKey: string): Promise<boolean> {
  const claimed = await client.query('INSERT INTO spool_applied (key) VALUES ($1) ON CONFLICT DO NOTHING', [writeKey]);
  if (claimed.rowCount) {
    await client.query('INSERT INTO spool_applied (key) VALUES ($1) ON CONFLICT DO NOTHING', [claimedBy(writeKey)]);
    return false;
  }
  return !(await client.query('SELECT 1 FROM spool_applied WHERE key = $1', [claimedBy(writeKey)])).rowCount;
}
