import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import type { Database } from 'sqlite3';
import { DataSource } from 'typeorm';
import type { SqliteDriver } from 'typeorm/driver/sqlite/SqliteDriver';
import { ConversationRepository, NewExchange, Turn } from './conversation.repository';
import { GroupInsert } from './group-insert';

const INSERT_COLUMNS = [
  'prompt',
  'response',
  'source',
  'session_id',
  'model',
  'status',
  'prompt_tokens',
  'completion_tokens',
  'duration_ms',
  'ttft_ms',
] as const;

/**
 * SQLite adapter. The hot-path statements are written as SQL on sqlite3's own handle: they
 * run on every chat request, and concurrent exchanges are stored by one multi-row INSERT
 * (group commit) rather than one statement and one transaction each.
 */
@Injectable()
export class TypeOrmConversationRepository extends ConversationRepository implements OnApplicationShutdown {
  private readonly inserts: GroupInsert<NewExchange>;

  constructor(private readonly dataSource: DataSource) {
    super();
    const db = (dataSource.driver as SqliteDriver).databaseConnection as Database;
    this.inserts = new GroupInsert(db, 'conversations', INSERT_COLUMNS, (exchange) => [
      exchange.prompt,
      exchange.response,
      exchange.source,
      exchange.sessionId,
      exchange.model,
      exchange.status,
      exchange.promptTokens ?? null,
      exchange.completionTokens ?? null,
      exchange.durationMs ?? null,
      exchange.ttftMs ?? null,
    ]);
  }

  insert(exchange: NewExchange): Promise<number> {
    return this.inserts.insert(exchange);
  }

  async recentTurns(sessionId: string, limit: number): Promise<Turn[]> {
    if (limit <= 0) return [];
    const rows: Turn[] = await this.dataSource.query(
      `SELECT prompt, response FROM conversations
        WHERE session_id = ? AND status IN ('ok', 'cached')
        ORDER BY id DESC LIMIT ?`,
      [sessionId, limit],
    );
    return rows.reverse();
  }

  /** Lets queued rows reach the database before TypeORM closes it. */
  async onApplicationShutdown(): Promise<void> {
    await this.inserts.close();
  }
}
