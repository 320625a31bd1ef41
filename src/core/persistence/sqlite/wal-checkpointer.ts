import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type sqlite3 from 'sqlite3';
import { DataSource } from 'typeorm';
import { AppConfig } from '../../../config/app-config';
import { openSqlite } from './open-sqlite';
import { sqliteSettings } from '../database-settings';

/** How often the server checkpoints the WAL into the database file while it is written to. */
export const CHECKPOINT_INTERVAL_MS = 50;
/** The longest wait between two passes once nothing is written (each idle pass doubles it). */
export const IDLE_CHECKPOINT_INTERVAL_MS = 800;
/**
 * WAL size (in pages, ~40 MB) at which the committing connection checkpoints after all: only
 * when sustained writes keep the background passes from ever catching up with the WAL.
 */
export const BACKSTOP_CHECKPOINT_PAGES = 10_000;

/**
 * Takes WAL checkpoints off the request path (server only). By default the connection that
 * commits checkpoints as soon as the WAL passes 1,000 pages: that commit, and the request
 * waiting for it, copies the pages into the database file and syncs both files — a few
 * milliseconds, every hundred or so stored exchanges, which was most of POST /chat's p99. The
 * server instead checkpoints from a connection of its own. A PASSIVE checkpoint never blocks the
 * writer, which goes on appending to the WAL while the pages are copied; but syncing the files
 * still delays the writes that land meanwhile, so small passes often (every 50 ms while the WAL
 * grows) keep those delays short. An idle server backs off to a pass every 800 ms.
 */
@Injectable()
export class WalCheckpointer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(WalCheckpointer.name);
  private db?: sqlite3.Database;
  private timer?: NodeJS.Timeout;
  private pass?: Promise<void>;
  private stopped = false;
  /** The WAL's length in frames after the last pass: unchanged means nothing was written. */
  private lastFrames = -1;
  private delayMs = CHECKPOINT_INTERVAL_MS;
  private readonly reported = new Set<string>();

  constructor(
    private readonly config: AppConfig,
    private readonly dataSource: DataSource,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.dataSource.query(`PRAGMA wal_autocheckpoint = ${BACKSTOP_CHECKPOINT_PAGES}`);
    this.db = await openSqlite(sqliteSettings(this.config.database).path, 'readwrite');
    this.scheduleNext();
  }

  /** The wait before the next pass: short while the WAL grows, longer while it does not. */
  get nextPassInMs(): number {
    return this.delayMs;
  }

  /** One PASSIVE checkpoint, unless the previous one is still running. */
  checkpoint(): Promise<void> {
    const db = this.db;
    if (!db) return Promise.resolve();
    this.pass ??= new Promise<void>((done) => {
      db.get('PRAGMA wal_checkpoint(PASSIVE)', (error: Error | null, row?: { log: number }) => {
        this.pass = undefined;
        // SQLITE_BUSY: another checkpoint (the backstop, a VACUUM) is running; the next pass will do.
        if (error && (error as { code?: string }).code !== 'SQLITE_BUSY') this.report(error);
        const frames = row?.log ?? this.lastFrames;
        this.delayMs = frames === this.lastFrames ? Math.min(this.delayMs * 2, IDLE_CHECKPOINT_INTERVAL_MS) : CHECKPOINT_INTERVAL_MS;
        this.lastFrames = frames;
        done();
      });
    });
    return this.pass;
  }

  /** Stops the passes. (The last connection to close checkpoints the whole WAL and removes it.) */
  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    if (!this.db) return;
    await this.pass;
    const db = this.db;
    this.db = undefined;
    await new Promise<void>((done) => db.close(() => done()));
  }

  private scheduleNext(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.checkpoint().then(() => this.scheduleNext()), this.delayMs);
    this.timer.unref();
  }

  private report(error: Error): void {
    if (this.reported.has(error.message)) return;
    this.reported.add(error.message);
    this.logger.warn(`WAL checkpoint failed (the WAL grows until one succeeds): ${error.message}`);
  }
}
