import { Injectable } from '@nestjs/common';
import { stat } from 'node:fs/promises';
import { DataSource } from 'typeorm';
import { AppConfig } from '../../../config/app-config';
import { DatabaseFileInfo, DatabaseMaintenance } from '../database-maintenance';
import { DatabaseHealth } from '../database-health';
import { openSqlite } from './open-sqlite';
import { sqliteSettings } from '../database-settings';

const sizeOf = async (file: string): Promise<number> => {
  try {
    return (await stat(file)).size;
  } catch {
    return 0;
  }
};

@Injectable()
export class SqliteDatabaseMaintenance extends DatabaseMaintenance {
  readonly backupExtension = '.db';
  constructor(
    private readonly config: AppConfig,
    private readonly dataSource: DataSource,
    private readonly health: DatabaseHealth,
  ) {
    super();
  }

  async fileInfo(): Promise<DatabaseFileInfo> {
    const path = sqliteSettings(this.config.database).path;
    return { path, sizeBytes: await sizeOf(path), walBytes: await sizeOf(`${path}-wal`) };
  }

  /**
   * `VACUUM INTO` reads one snapshot of the database and writes it, compacted, to a new file: a
   * consistent copy. It runs on a connection of its own, read-only, so the app's connection
   * keeps serving (and, under WAL, writing) while a large database is copied.
   */
  backupTo(file: string): Promise<void> {
    return this.health.guard(this.vacuumInto(file));
  }

  private async vacuumInto(file: string): Promise<void> {
    const db = await openSqlite(sqliteSettings(this.config.database).path, 'readonly');
    try {
      await new Promise<void>((resolve, reject) => {
        db.run('VACUUM INTO ?', [file], (error) => (error ? reject(error) : resolve()));
      });
    } finally {
      await new Promise<void>((resolve) => db.close(() => resolve()));
    }
  }

  /**
   * `VACUUM` on the app's own connection (it needs no open transaction elsewhere on it), then
   * the FTS index merged into one segment, then a checkpoint that truncates the WAL file.
   */
  vacuum(): Promise<void> {
    return this.health.guard(this.compact());
  }

  private async compact(): Promise<void> {
    await this.dataSource.query(`INSERT INTO conversations_fts(conversations_fts) VALUES ('optimize')`);
    await this.dataSource.query('VACUUM');
    await this.dataSource.query('PRAGMA wal_checkpoint(TRUNCATE)');
  }
}
