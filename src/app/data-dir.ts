import { closeSync, mkdirSync, openSync, statSync, unlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { AppConfig, ConfigError } from '../config/app-config';

/** What an errno means for a directory Vega must write, in words an operator can act on. */
const CAUSES: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EROFS: 'the file system is read-only',
  ENOSPC: 'the disk is full',
  EDQUOT: 'the disk quota is exhausted',
  ENOTDIR: 'a part of the path is a file, not a directory',
  EEXIST: 'it is a file, not a directory',
  ENOENT: 'files cannot be created in it',
  EISDIR: 'the database path is a directory',
};

function cause(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  return (code && CAUSES[code]) ?? (error instanceof Error ? error.message : String(error));
}

/** Creates `dir` if needed and checks that it is a directory in which files can be created. */
function checkDirectory(dir: string, role: string, variable: string): void {
  const fail = (reason: string) => new ConfigError(`cannot use the ${role} ${dir} (${variable}): ${reason}`);
  try {
    mkdirSync(dir, { recursive: true });
  } catch (error) {
    throw fail(cause(error));
  }
  if (!statSync(dir).isDirectory()) throw fail('it is a file, not a directory');
  // Creating a file is the only check that holds for root and for read-only mounts alike.
  const probe = join(dir, `.vega-write-check-${process.pid}`);
  try {
    closeSync(openSync(probe, 'wx'));
    unlinkSync(probe);
  } catch (error) {
    throw fail(cause(error));
  }
}

/**
 * Checks, before anything else starts, that the data directory (the API key file, the database)
 * and the database file can be written: SQLite would only say `SQLITE_CANTOPEN`, and a data
 * directory that is a file failed deep inside TypeORM with a stack trace. Throws `ConfigError`
 * naming the path and the cause.
 */
export function checkDataDirectory(config: AppConfig): void {
  checkDirectory(config.dataDir, 'data directory', 'VEGA_DATA_DIR');
  const { database } = config;
  if (database.type !== 'sqlite') return; // a server's database is checked by connecting to it
  const dbDir = dirname(database.path);
  if (dbDir !== config.dataDir) checkDirectory(dbDir, 'database directory', 'DATABASE_URL');
  const existing = statSync(database.path, { throwIfNoEntry: false });
  if (!existing) return; // SQLite creates it, in a directory just checked
  try {
    if (existing.isDirectory()) throw Object.assign(new Error('EISDIR'), { code: 'EISDIR' });
    closeSync(openSync(database.path, 'r+'));
  } catch (error) {
    throw new ConfigError(`cannot open the database ${database.path}: ${cause(error)}`);
  }
}
