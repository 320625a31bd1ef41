import sqlite3 from 'sqlite3';

/**
 * A connection of its own to the app's database file, beside TypeORM's: for work that must not
 * queue behind (or hold up) the app's statements, such as a backup or a checkpoint.
 */
export function openSqlite(path: string, mode: 'readonly' | 'readwrite'): Promise<sqlite3.Database> {
  const flags = mode === 'readonly' ? sqlite3.OPEN_READONLY : sqlite3.OPEN_READWRITE;
  return new Promise((resolve, reject) => {
    const db = new sqlite3.Database(path, flags, (error) => (error ? reject(error) : resolve(db)));
  });
}
