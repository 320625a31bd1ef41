import { Injectable, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import type sqlite3 from 'sqlite3';
import { DataSource } from 'typeorm';
import { AppConfig } from '../../../config/app-config';
import { ConversationRepository, NewExchange, SpooledExchange, Turn } from '../conversation.repository';
import { DatabaseHealth } from '../database-health';
import { sqliteSettings } from '../database-settings';
import { EXCHANGE_COLUMNS, exchangeValues } from './exchange-row';
import { GroupInsert } from './group-insert';
import { openSqlite } from './open-sqlite';
import { dropSpoolKeys, writeSpooled } from './sqlite-spool-replay';
import { BACKSTOP_CHECKPOINT_PAGES } from './wal-checkpointer';


/**
 * SQLite adapter. The hot-path statements are written as SQL on sqlite3's own handle: they
 * run on every chat request, and concurrent exchanges are stored by one multi-row INSERT
 * (group commit) rather than one statement and one transaction each.
 * Exchanges are written on a connection of their own: while another process holds the write
 * lock, the inserts wait there (up to DB_WRITE_WAIT_SEC) without holding up the reads, which
 * WAL serves from TypeORM's connection meanwhile.
 */
@Injectable()
export class SqliteConversationRepository extends ConversationRepository implements OnModuleInit, OnApplicationShutdown {
  private writer?: sqlite3.Database;
  private inserts?: GroupInsert<NewExchange>;

  constructor(
    private readonly dataSource: DataSource,
    private readonly config: AppConfig,
    private readonly health: DatabaseHealth,
  ) {
    super();
  }

  /** Runs after TypeORM has opened the database and applied the migrations (it is injected above). */
  async onModuleInit(): Promise<void> {
    const writer = await openSqlite(sqliteSettings(this.config.database).path, 'readwrite');
    this.writer = writer;
    // As on TypeORM's connection: NORMAL is durable under WAL against application crashes; the
    // server's checkpointer takes the WAL checkpoints, this connection only past the backstop.
    await new Promise<void>((resolve, reject) =>
      writer.exec(`PRAGMA synchronous = NORMAL; PRAGMA wal_autocheckpoint = ${BACKSTOP_CHECKPOINT_PAGES}`, (error) =>
        error ? reject(error) : resolve(),
      ),
    );
    const { writeWaitMs, busyTimeoutMs } = sqliteSettings(this.config.database);
    this.inserts = new GroupInsert(writer, 'conversations', EXCHANGE_COLUMNS, exchangeValues, 500, { maxWaitMs: writeWaitMs, busyTimeoutMs });
  }

  insert(exchange: NewExchange): Promise<number> {
    if (!this.inserts) return Promise.reject(new Error('the database is not open yet'));
    return this.health.guard(this.inserts.insert(exchange));
  }

  async recentTurns(sessionId: string, limit: number, owner?: string): Promise<Turn[]> {
    if (limit <= 0) return [];
    const rows: Turn[] = await this.health.guard(
      this.dataSource.query(
        `SELECT prompt, response FROM conversations
          WHERE session_id = ? AND status IN ('ok', 'cached') ${owner === undefined ? '' : 'AND key_id = ?'}
          ORDER BY id DESC LIMIT ?`,
        owner === undefined ? [sessionId, limit] : [sessionId, owner, limit],
      ),
    );
    return rows.reverse();
  }

  storeSpooled(entries: readonly SpooledExchange[]): Promise<{ written: number; refused: string[] }> {
    return writeSpooled(sqliteSettings(this.config.database).path, entries);
  }

  forgetSpooled(keys: readonly string[]): Promise<void> {
    return dropSpoolKeys(sqliteSettings(this.config.database).path, keys);
  }

  /** Lets queued rows reach the database (or give up waiting for a lock), then closes the connection. */
  async onApplicationShutdown(): Promise<void> {
    await this.inserts?.close();
    const writer = this.writer;
    this.writer = undefined;
    if (writer) await new Promise<void>((done) => writer.close(() => done()));
  }
}
