import { Injectable, Logger } from '@nestjs/common';
import { DatabaseBusyError, DatabaseCorruptError, DatabaseUnavailableError } from '../../common/errors/app-errors';

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

/**
 * Why a database server cannot serve a statement now, or undefined for any other failure: the
 * server down or unreachable (socket errors, `pg`'s own connection errors, SQLSTATE class 08, a
 * server shutting down or starting, 57P01–57P03), every connection taken (53300), the statement
 * past the statement timeout (57014), no answer or no connection within the client's timeouts
 * (a server that hangs). In Vega's words: the driver's message may name the host.
 */
export function unavailableReason(error: unknown): string | undefined {
  const code = driverCode(error) ?? '';
  if (code === '57014') return 'the statement ran past DB_STATEMENT_TIMEOUT_SEC';
  if (code === '53300') return 'it has no free connection: too many clients';
  if (/^08/.test(code) || /^57P0[1-3]$/.test(code)) return 'the connection to the server was lost';
  if (SOCKET_CODES.has(code)) return 'the server cannot be reached';
  const message = error instanceof Error ? error.message : '';
  if (/timeout exceeded when trying to connect|due to connection timeout|^timeout expired$/i.test(message)) return 'the server did not accept a connection within DB_CONNECT_TIMEOUT_SEC';
  if (/^Query read timeout/.test(message)) return 'the server did not answer within DB_QUERY_TIMEOUT_SEC';
  if (/^Connection terminated|not queryable|Connection ended/i.test(message)) return 'the connection to the server was lost';
  return undefined;
}

/** The socket's failures when the server is down or out of reach. */
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

export const isBusy = (error: unknown): boolean => error instanceof DatabaseBusyError || BUSY_CODES.has(driverCode(error) ?? '');

/**
 * What the app knows about the database's health: a corruption, once any statement met one,
 * stays known until restart (readiness reports it). `translate` turns the engines' failures
 * (SQLite's locks and damage, a PostgreSQL server down, saturated or too slow) into the app
 * errors the filter and the CLI understand; every adapter passes its failures through it.
 */
@Injectable()
export class DatabaseHealth {
  private readonly logger = new Logger('Database');
  private corruptionDetail?: string;

  /** SQLite's own words for the corruption last met, or undefined while none was. */
  get corruption(): string | undefined {
    return this.corruptionDetail;
  }

  /** The app error for a busy, damaged or unavailable database; any other error unchanged. */
  translate(error: unknown): unknown {
    if (error instanceof DatabaseBusyError || error instanceof DatabaseCorruptError || error instanceof DatabaseUnavailableError) return error;
    const unavailable = unavailableReason(error);
    if (unavailable !== undefined) return new DatabaseUnavailableError(unavailable, { cause: error });
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
