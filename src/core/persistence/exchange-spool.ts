import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { open, readFile, rename, rm, stat } from 'node:fs/promises';
import { AppConfig } from '../../config/app-config';
import { ConversationRepository, type NewExchange, type SpooledExchange } from './conversation.repository';
import { DatabaseHealth, isBusy } from './database-health';

/** How often a replay is tried while exchanges wait in the spool. */
export const SPOOL_REPLAY_INTERVAL_MS = 1000;
/** One line of the spool: the exchange as it would have been stored, its time, and a key that makes replays idempotent. */
interface SpoolLine extends NewExchange {
  key: string;
  /** ISO 8601 UTC; a spool written by an older Vega holds the stored form `YYYY-MM-DD HH:MM:SS.SSS` (UTC), still read. */
  ts: string;
  /** The failed write's key when its outcome was unknown (`SpooledExchange.writeKey`). */
  writeKey?: string;
}

/**
 * Where an exchange goes when the database cannot take it (locked past `DB_WRITE_WAIT_SEC`,
 * damaged): JSON Lines in `<data dir>/pending-exchanges.jsonl`, each append synced to disk before
 * the client gets its answer. Every second while lines wait (and at start), a replay writes them
 * back in order through `ConversationRepository.storeSpooled` (one transaction, each key kept,
 * so a replay cut short and run again stores no row twice); then the file is removed. While
 * lines wait, new exchanges join them (`appendIfWaiting`): ids follow the answers' order. A line the
 * database refuses for itself (not for a lock or damage) is moved to
 * `pending-exchanges.rejected.jsonl`, not dropped. The file knows no engine: times are ISO 8601.
 */
@Injectable()
export class ExchangeSpool implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(ExchangeSpool.name);
  private readonly path: string;
  private readonly rejectedPath: string;
  /** Appends and replays run one at a time, in order. */
  private tail: Promise<unknown> = Promise.resolve();
  private timer?: NodeJS.Timeout;
  private stopped = false;
  /** The spool file may hold exchanges. */
  private waiting = false;
  private lastFailure?: string;

  constructor(
    config: AppConfig,
    private readonly repository: ConversationRepository,
    private readonly health: DatabaseHealth,
  ) {
    this.path = config.database.spoolPath;
    this.rejectedPath = this.path.replace(/\.jsonl$/, '') + '.rejected.jsonl';
  }

  /** Whether exchanges wait in the spool. */
  get pending(): boolean {
    return this.waiting;
  }

  onApplicationBootstrap(): void {
    if (!existsSync(this.path)) return;
    this.waiting = true;
    this.schedule(0);
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.tail.catch(() => undefined);
  }

  /**
   * Appends the exchange (stored at `at`) and syncs the file; resolves once it is on disk.
   * `writeKey`: the failed write's, when its outcome is unknown (`UncertainWriteError`).
   */
  append(exchange: NewExchange, at: Date, writeKey?: string): Promise<void> {
    // Set now, not once written: an exchange that ends meanwhile queues behind this one.
    this.waiting = true;
    return this.serial(() => this.write(exchange, at, writeKey));
  }

  /**
   * Keeps the answer order while exchanges wait: when the spool holds some, the exchange is
   * appended behind them (resolves true) and stored by the replay after them; when it is empty,
   * or a replay under way empties it, nothing is spooled (false) and the caller stores the
   * exchange itself. Without this, an exchange stored directly once the database is back would
   * get a smaller id than older ones still in the spool.
   */
  appendIfWaiting(exchange: NewExchange, at: Date): Promise<boolean> {
    if (!this.waiting) return Promise.resolve(false);
    return this.serial(async () => {
      if (!this.waiting) return false;
      await this.write(exchange, at);
      return true;
    });
  }

  /** Tries a replay soon (the database just took a write). */
  replaySoon(): void {
    if (this.waiting) this.schedule(0);
  }

  /** Writes the spooled exchanges to the database now; resolves with how many were written (0 when it is still busy). */
  replay(): Promise<number> {
    return this.serial(async () => {
      try {
        const written = await this.replayOnce();
        this.lastFailure = undefined;
        return written;
      } catch (error) {
        const failure = this.health.translate(error);
        const message = failure instanceof Error ? failure.message : String(failure);
        if (!isBusy(failure) && message !== this.lastFailure) {
          this.logger.warn(`spooled exchanges not written yet (${message}); retrying every ${SPOOL_REPLAY_INTERVAL_MS / 1000} s`);
        }
        this.lastFailure = message;
        return 0;
      }
    });
  }

  private async replayOnce(): Promise<number> {
    let bytes: Buffer;
    try {
      bytes = await readFile(this.path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      this.waiting = false;
      return 0;
    }
    const entries: SpooledExchange[] = [];
    const lines = new Map<string, string>();
    const rejected: string[] = [];
    for (const line of bytes.toString('utf8').split('\n')) {
      if (line.trim() === '') continue;
      const entry = parseLine(line);
      if (entry) {
        entries.push(entry);
        lines.set(entry.key, line);
      } else {
        rejected.push(line);
      }
    }
    const { written, refused } = await this.repository.storeSpooled(entries);
    rejected.push(...refused.map((key) => lines.get(key)!));
    if (rejected.length > 0) {
      await appendSynced(this.rejectedPath, rejected.map((line) => `${line}\n`).join(''));
      this.logger.error(`${rejected.length} spooled exchange(s) could not be stored; kept in ${this.rejectedPath}`);
    }
    await this.dropFirst(bytes.length);
    // The keys matter only while the lines are in the file.
    const keys = new Set(entries.flatMap((entry) => (entry.writeKey ? [entry.key, entry.writeKey] : [entry.key])));
    await this.repository.forgetSpooled([...keys]).catch(() => undefined);
    if (written > 0) this.logger.log(`${written} spooled exchange(s) written to the database`);
    return written;
  }

  /** Removes the first `length` bytes of the spool (what was replayed), keeping lines another process appended since. */
  private async dropFirst(length: number): Promise<void> {
    const size = (await stat(this.path)).size;
    if (size <= length) {
      await rm(this.path, { force: true });
      this.waiting = false;
      return;
    }
    const rest = (await readFile(this.path)).subarray(length);
    const next = `${this.path}.next`;
    await rm(next, { force: true });
    await appendSynced(next, rest);
    await rename(next, this.path);
  }

  /** One line appended and synced; called inside `serial`. */
  private async write(exchange: NewExchange, at: Date, writeKey?: string): Promise<void> {
    const entry: SpoolLine = { key: randomUUID(), ts: at.toISOString(), ...(writeKey ? { writeKey } : {}), ...exchange };
    this.waiting = true;
    // Scheduled first: a replay also clears `waiting` when the append fails and leaves no file.
    this.schedule(SPOOL_REPLAY_INTERVAL_MS);
    await appendSynced(this.path, `${JSON.stringify(entry)}\n`);
  }

  private serial<T>(work: () => Promise<T>): Promise<T> {
    const result = this.tail.then(work, work);
    this.tail = result.catch(() => undefined);
    return result;
  }

  private schedule(delayMs: number): void {
    if (this.stopped || !this.waiting) return;
    if (this.timer && delayMs > 0) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.replay().then(() => this.schedule(SPOOL_REPLAY_INTERVAL_MS));
    }, delayMs);
    this.timer.unref();
  }
}

async function appendSynced(path: string, data: string | Buffer): Promise<void> {
  const file = await open(path, 'a', 0o600);
  try {
    await (typeof data === 'string' ? file.write(data) : file.write(data));
    await file.sync();
  } finally {
    await file.close();
  }
}

/** A spool line read back; undefined for a line that is not one (cut short, edited by hand). */
function parseLine(line: string): SpooledExchange | undefined {
  let parsed: SpoolLine;
  try {
    parsed = JSON.parse(line) as SpoolLine;
  } catch {
    return undefined;
  }
  if (typeof parsed?.key !== 'string' || typeof parsed.ts !== 'string' || typeof parsed.prompt !== 'string' || typeof parsed.response !== 'string') {
    return undefined;
  }
  const { key, ts, writeKey, ...exchange } = parsed;
  // A time without a zone is the older form, UTC.
  const at = new Date(/(?:Z|[+-]\d\d:\d\d)$/.test(ts) ? ts : `${ts.replace(' ', 'T')}Z`);
  if (Number.isNaN(at.getTime())) return undefined;
  return typeof writeKey === 'string' ? { key, at, exchange, writeKey } : { key, at, exchange };
}
