import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { ConversationRepository, NewExchange, Turn } from './conversation.repository';

/**
 * SQLite adapter. The hot-path statements are written as SQL: they run on every chat
 * request, and a prepared INSERT is several times cheaper than a query-builder round.
 */
@Injectable()
export class TypeOrmConversationRepository extends ConversationRepository {
  constructor(private readonly dataSource: DataSource) {
    super();
  }

  async insert(exchange: NewExchange): Promise<number> {
    const id: unknown = await this.dataSource.query(
      `INSERT INTO conversations
         (prompt, response, source, session_id, model, status, prompt_tokens, completion_tokens, duration_ms, ttft_ms)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [
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
      ],
    );
    return Number(id);
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
}
