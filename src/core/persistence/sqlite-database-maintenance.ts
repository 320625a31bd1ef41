import { Injectable } from '@nestjs/common';
import { stat } from 'node:fs/promises';
import sqlite3 from 'sqlite3';
import { AppConfig } from '../../config/app-config';
import { DatabaseFileInfo, DatabaseMaintenance } from './database-maintenance';

const sizeOf = async (file: string): Promise<number> => {
  try {
    return (await stat(file)).size;
  } catch {
    return 0;
  }
};

@Injectable()
export class SqliteDatabaseMaintenance extends DatabaseMaintenance {
  constructor(private readonly config: AppConfig) {
    super();
  }

  async fileInfo(): Promise<DatabaseFileInfo> {
    const path = this.config.database.path;
    return { path, sizeBytes: await sizeOf(path), walBytes: await sizeOf(`${path}-wal`) };
  }

  /**
   * `VACUUM INTO` reads one snapshot of the database and writes it, compacted, to a new file: a
   * consistent copy. It runs on a connection of its own, read-only, so the app's connection
   * keeps serving (and, under WAL, writing) while a large database is copied.
   */
  async backupTo(file: string): Promise<void> {
    const db = await open(this.config.database.path);
    try {
      await new Promise<void>((resolve, reject) => {
        db.run('VACUUM INTO ?', [file], (error) => (error ? reject(error) : resolve()));
      });
    } finally {
      await new Promise<void>((resolve) => db.close(() => resolve()));
    }
  }
}

function open(path: string): Promise<sqlite3.Database> {
  return new Promise((resolve, reject) => {
    const db = new sqlite3.Database(path, sqlite3.OPEN_READONLY, (error) => (error ? reject(error) : resolve(db)));
  });
}
