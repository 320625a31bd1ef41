import { Injectable, Logger } from '@nestjs/common';
import { DatabaseBusyError, DatabaseCorruptError } from '../../common/errors/app-errors';

/** A lock another connection holds past the busy timeout. */
const BUSY_CODES = new Set(['SQLITE_BUSY', 'SQLITE_LOCKED']);
/** Damaged pages, or a file that is not a database at all. */
const CORRUPT_CODES = new Set(['SQLITE_CORRUPT', 'SQLITE_NOTADB']);

/** The driver's error code (sqlite3's `SQLITE_BUSY`…, PostgreSQL's SQLSTATE), also when TypeORM wrapped the error in a `QueryFailedError`. */
export function driverCode(error: unknown): string | undefined {
  const direct = (error as { code?: unknown } | null)?.code;
  if (typeof direct === 'string') return direct;
  const wrapped = (error as { driverError?: { code?: unknown } } | null)?.driverError?.code;
  return typeof wrapped === 'string' ? wrapped : undefined;
}

export const isBusy = (error: unknown): boolean => error instanceof DatabaseBusyError || BUSY_CODES.has(driverCode(error) ?? '');

/**
 * What the app knows about the database file's health: a corruption, once any statement met one,
 * stays known until restart (readiness reports it). `translate` turns SQLite's failures into the
 * app errors the filter and the CLI understand; every adapter passes its failures through it.
 */
@Injectable()
export class DatabaseHealth {
  private readonly logger = new Logger('Database');
  private corruptionDetail?: string;

  /** SQLite's own words for the corruption last met, or undefined while none was. */
  get corruption(): string | undefined {
    return this.corruptionDetail;
  }

  /** The app error for a busy or damaged database; any other error unchanged. */
  translate(error: unknown): unknown {
    if (error instanceof DatabaseBusyError || error instanceof DatabaseCorruptError) return error;
    const code = driverCode(error);
    if (code === undefined) return error;
    if (BUSY_CODES.has(code)) return new DatabaseBusyError({ cause: error });
    if (!CORRUPT_CODES.has(code)) return error;
    const detail = error instanceof Error ? error.message : String(error);
    if (this.corruptionDetail === undefined) this.logger.error(`the database is corrupted (${detail}): restore a backup`);
    this.corruptionDetail = detail;
    return new DatabaseCorruptError(detail, { cause: error });
  }

  /** Awaits one database operation, its failure translated. */
  async guard<T>(work: Promise<T>): Promise<T> {
    try {
      return await work;
    } catch (error) {
      throw this.translate(error);
    }
  }
}
