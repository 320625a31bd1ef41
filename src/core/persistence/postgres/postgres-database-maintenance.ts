import { Injectable } from '@nestjs/common';
import { execFile } from 'node:child_process';
import { access } from 'node:fs/promises';
import { promisify } from 'node:util';
import { DataSource } from 'typeorm';
import { OperationUnavailableError } from '../../../common/errors/app-errors';
import { AppConfig } from '../../../config/app-config';
import { DatabaseFileInfo, DatabaseMaintenance } from '../database-maintenance';
import { databaseLabel } from '../database-settings';
import { DatabaseHealth } from '../database-health';
import { findPostgresTool, splitPassword } from './pg-tools';

const run = promisify(execFile);

/** The database on a PostgreSQL server: its size, a `pg_dump` backup, VACUUM ANALYZE. */
@Injectable()
export class PostgresDatabaseMaintenance extends DatabaseMaintenance {
  /** pg_dump's custom format, which `pg_restore` reads (not a SQLite file, so not `.db`). */
  readonly backupExtension = '.dump';
  constructor(
    private readonly config: AppConfig,
    private readonly dataSource: DataSource,
    private readonly health: DatabaseHealth,
  ) {
    super();
  }

  /** The URL without its password; the database's size on the server (its WAL is the server's, not counted). */
  async fileInfo(): Promise<DatabaseFileInfo> {
    const rows: { size: number }[] = await this.health.guard(this.dataSource.query('SELECT pg_database_size(current_database()) AS size'));
    return { path: databaseLabel(this.config.database), sizeBytes: Number(rows[0].size), walBytes: 0 };
  }

  /**
   * `pg_dump` in its custom format (restored by `pg_restore`): one consistent snapshot, while
   * the server goes on serving. The password reaches it through its environment alone.
   */
  async backupTo(file: string): Promise<void> {
    const pgDump = findPostgresTool('pg_dump');
    if (!pgDump) {
      throw new OperationUnavailableError(
        'pg_dump is not installed here (apt-get install postgresql-client): back the database up with the PostgreSQL server\'s own tools',
      );
    }
    if (await access(file).then(() => true, () => false)) throw new Error(`${file} exists already`);
    if (this.config.database.type !== 'postgres') throw new Error('the PostgreSQL adapter runs on a PostgreSQL database only');
    const { url, password } = splitPassword(this.config.database.url);
    try {
      await run(pgDump, ['--format=custom', '--no-owner', `--file=${file}`, `--dbname=${url}`], {
        env: { ...process.env, ...(password === undefined ? {} : { PGPASSWORD: password }) },
        maxBuffer: 1024 * 1024,
      });
    } catch (error) {
      const stderr = String((error as { stderr?: unknown }).stderr ?? '').trim();
      throw new Error(`pg_dump failed: ${stderr || (error as Error).message}`, { cause: error });
    }
  }

  /** Reclaims dead rows' space for reuse and refreshes the planner's statistics (not a full rewrite: no lock). */
  async vacuum(): Promise<void> {
    await this.health.guard(this.dataSource.query('VACUUM (ANALYZE)'));
  }
}
