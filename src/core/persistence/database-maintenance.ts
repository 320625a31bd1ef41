/** Facts about the database file and operations on it as a whole (status, backup). */
export interface DatabaseFileInfo {
  path: string;
  /** The main database file. */
  sizeBytes: number;
  /** The write-ahead log next to it (0 when absent). */
  walBytes: number;
}

export abstract class DatabaseMaintenance {
  /** The file name extension of `backupTo`'s copies (`.db`: a SQLite file; `.dump`: pg_dump's custom format). */
  abstract readonly backupExtension: string;
  abstract fileInfo(): Promise<DatabaseFileInfo>;
  /** Writes a consistent, compacted copy of the database to `file`, which must not exist. */
  abstract backupTo(file: string): Promise<void>;
  /** Rebuilds the database file to reclaim free pages and empties the write-ahead log. */
  abstract vacuum(): Promise<void>;
}
