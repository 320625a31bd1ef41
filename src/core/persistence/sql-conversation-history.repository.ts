import { Injectable } from '@nestjs/common';
import { DataSource, type QueryResult, type QueryRunner } from 'typeorm';
import { ConversationHistoryRepository, ImportedConversation } from './conversation-history.repository';
import { withoutTakenResponseIds } from './conversation-import';
import { DatabaseHealth } from './database-health';

/**
 * What the SQLite and PostgreSQL history adapters do alike: every statement goes through
 * `DatabaseHealth` (a busy, unreachable or damaged database fails with the app's error for it),
 * and an import is one transaction — rows whose response id is taken lose it, then the rows go in
 * batches. Each adapter says how its dialect asks for taken ids and inserts one batch (the
 * adapters inherit the constructor and its injection).
 */
@Injectable()
export abstract class SqlConversationHistoryRepository extends ConversationHistoryRepository {
  /** Rows one import INSERT carries at most (the dialect's limit of bound values). */
  protected abstract readonly importRowsPerStatement: number;

  constructor(
    protected readonly dataSource: DataSource,
    protected readonly health: DatabaseHealth,
  ) {
    super();
  }

  /** Which of `ids` (at most 500) the table already holds as response ids. */
  protected abstract takenResponseIds(runner: QueryRunner, ids: string[]): Promise<string[]>;

  /** One INSERT of `rows` (at most `importRowsPerStatement`). */
  protected abstract insertImported(runner: QueryRunner, rows: ImportedConversation[]): Promise<void>;

  importMany(rows: ImportedConversation[]): Promise<number> {
    return this.health.guard(this.importInOneTransaction(rows));
  }

  /** A read; a busy or damaged database fails with the app's error for it (`DatabaseHealth`). */
  protected query<T>(sql: string, params?: unknown[]): Promise<T> {
    return this.health.guard(this.dataSource.query(sql, params));
  }

  /** Runs a write statement and returns the number of rows it changed. */
  protected async changes(sql: string, params: unknown[]): Promise<number> {
    const runner = this.dataSource.createQueryRunner();
    try {
      const result = (await this.health.guard(runner.query(sql, params, true))) as QueryResult;
      return result.affected ?? 0;
    } finally {
      await runner.release();
    }
  }

  private async importInOneTransaction(given: ImportedConversation[]): Promise<number> {
    if (given.length === 0) return 0;
    const runner = this.dataSource.createQueryRunner();
    try {
      await runner.startTransaction();
      const rows = await withoutTakenResponseIds(given, (ids) => this.takenResponseIds(runner, ids));
      for (let start = 0; start < rows.length; start += this.importRowsPerStatement) {
        await this.insertImported(runner, rows.slice(start, start + this.importRowsPerStatement));
      }
      await runner.commitTransaction();
      return given.length;
    } catch (error) {
      if (runner.isTransactionActive) await runner.rollbackTransaction();
      throw error;
    } finally {
      await runner.release();
    }
  }
}
