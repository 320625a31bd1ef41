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

/** A line waiting for the next group fsync. */
interface QueuedLine {
  text: string;
  /** `appendIfWaiting`: dropped (resolves false) when the spool was emptied before the line's group is written. */
  onlyIfWaiting: boolean;
  resolve(written: boolean): void;
  reject(error: unknown): void;
}

/**
 * Where an exchange goes when the database cannot take it (locked past `DB_WRITE_WAIT_SEC`,
 * damaged, a PostgreSQL server down or not answering): JSON Lines in
 * `<data dir>/pending-exchanges.jsonl`, each append synced to disk before the client gets its
 * answer. Appends are group-synced: the lines that arrive while one fsync runs are written and
 * synced together by the next (one fsync for the lot, `fsyncs` counts them); each append resolves
 * only after the fsync that covers its line. Every second while lines wait (and at start), a
 * replay writes them back in order through `ConversationRepository.storeSpooled` (one
 * transaction, each key kept, so a replay cut short and run again stores no row twice); then it
 * drops what it wrote from the file. The file lock is held to read the file and to trim it, never
 * across the database round trip: appends go on while a replay waits for a server that hangs.
 * While lines wait, new exchanges join them (`appendIfWaiting`): ids follow the answers' order. A
 * line the database refuses for itself (not for a lock or damage) is moved to
 * `pending-exchanges.rejected.jsonl`, not dropped. The file knows no engine: times are ISO 8601.
 */
@Injectable()
export class ExchangeSpool implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(ExchangeSpool.name);
  private readonly path: string;
  private readonly rejectedPath: string;
  /** The file lock: a group's write and sync, a replay's read, a replay's trim; one at a time. */
  private fileLock: Promise<unknown> = Promise.resolve();
  /** Replays run one at a time, in order. */
  private replays: Promise<unknown> = Promise.resolve();
  /** Lines waiting for the next group fsync, and the group loop while it runs. */
  private queued: QueuedLine[] = [];
  private flushing?: Promise<void>;
  private syncs = 0;
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

  /** The fsyncs appends have cost since start (`vega_spool_fsyncs_total`). */
  get fsyncs(): number {
    return this.syncs;
  }

  onApplicationBootstrap(): void {
    if (!existsSync(this.path)) return;
    this.waiting = true;
    this.schedule(0);
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.flushing?.catch(() => undefined);
    await this.replays.catch(() => undefined);
  }

  /**
   * Appends the exchange (stored at `at`) and syncs the file; resolves once it is on disk.
   * `writeKey`: the failed write's, when its outcome is unknown (`UncertainWriteError`).
   */
  async append(exchange: NewExchange, at: Date, writeKey?: string): Promise<void> {
    // Set now, not once written: an exchange that ends meanwhile queues behind this one.
    this.waiting = true;
    await this.enqueue(spoolLine(exchange, at, writeKey), false);
  }

  /**
   * Keeps the answer order while exchanges wait: when the spool holds some, the exchange is
   * appended behind them (resolves true) and stored by the replay after them; when it is empty,
   * or a replay under way empties it before the line is written, nothing is spooled (false) and
   * the caller stores the exchange itself. Without this, an exchange stored directly once the
   * database is back would get a smaller id than older ones still in the spool.
   */
  appendIfWaiting(exchange: NewExchange, at: Date): Promise<boolean> {
    if (!this.waiting) return Promise.resolve(false);
    return this.enqueue(spoolLine(exchange, at), true);
  }

  /** Tries a replay soon (the database just took a write). */
  replaySoon(): void {
    if (this.waiting) this.schedule(0);
  }

  /** Writes the spooled exchanges to the database now; resolves with how many were written (0 when it is still busy). */
  replay(): Promise<number> {
    const result = this.replays.then(() => this.replayGuarded());
    this.replays = result.catch(() => undefined);
    return result;
  }

  private async replayGuarded(): Promise<number> {
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
  }

  private async replayOnce(): Promise<number> {
    const bytes = await this.locked(() => readFile(this.path).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
      return undefined;
    }));
    if (bytes === undefined) {
      if (this.queued.length === 0 && !this.flushing) this.waiting = false;
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
    // No lock here: appends go on while the database answers (or does not).
    const { written, refused } = await this.repository.storeSpooled(entries);
    rejected.push(...refused.map((key) => lines.get(key)!));
    if (rejected.length > 0) {
      await appendSynced(this.rejectedPath, rejected.map((line) => `${line}\n`).join(''));
      this.logger.error(`${rejected.length} spooled exchange(s) could not be stored; kept in ${this.rejectedPath}`);
    }
    const rest = await this.locked(() => this.dropFirst(bytes.length));
    // The keys matter only while lines that carry them are in the file: a failed write's key
    // stays while another exchange of the same batch still waits there.
    const kept = new Set(rest.flatMap((entry) => (entry.writeKey ? [entry.writeKey] : [])));
    const keys = new Set(entries.flatMap((entry) => [entry.key, ...(entry.writeKey && !kept.has(entry.writeKey) ? [entry.writeKey] : [])]));
    await this.repository.forgetSpooled([...keys]).catch(() => undefined);
    if (written > 0) this.logger.log(`${written} spooled exchange(s) written to the database`);
    return written;
  }

  /**
   * Removes the first `length` bytes of the spool (what was replayed), keeping lines appended
   * since (by this process or another); returns those.
   */
  private async dropFirst(length: number): Promise<SpooledExchange[]> {
    const size = (await stat(this.path)).size;
    if (size <= length) {
      await rm(this.path, { force: true });
      this.waiting = false;
      return [];
    }
    const rest = (await readFile(this.path)).subarray(length);
    const next = `${this.path}.next`;
    await rm(next, { force: true });
    await appendSynced(next, rest);
    await rename(next, this.path);
    return rest.toString('utf8').split('\n').flatMap((line) => parseLine(line) ?? []);
  }

  private enqueue(text: string, onlyIfWaiting: boolean): Promise<boolean> {
    return new Promise<boolean>((resolve, reject) => {
      this.queued.push({ text, onlyIfWaiting, resolve, reject });
      this.flushing ??= this.flush();
    });
  }

  /** Writes and syncs the queued lines, a group at a time: those queued during one fsync share the next. */
  private async flush(): Promise<void> {
    try {
      while (this.queued.length > 0) {
        const group = this.queued.splice(0);
        await this.locked(() => this.writeGroup(group));
      }
    } finally {
      this.flushing = undefined;
    }
  }

  /** One group appended and synced; called under the file lock. */
  private async writeGroup(group: QueuedLine[]): Promise<void> {
    // A conditional line goes in only while the spool holds lines, or a line before it in the group is spooled.
    let spooling = this.waiting;
    const lines = group.filter((line) => (spooling ||= !line.onlyIfWaiting));
    for (const line of group) if (!lines.includes(line)) line.resolve(false);
    if (lines.length === 0) return;
    this.waiting = true;
    // Scheduled first: a replay also clears `waiting` when the append fails and leaves no file.
    this.schedule(SPOOL_REPLAY_INTERVAL_MS);
    try {
      await appendSynced(this.path, lines.map((line) => line.text).join(''));
      this.syncs += 1;
    } catch (error) {
      for (const line of lines) line.reject(error);
      return;
    }
    for (const line of lines) line.resolve(true);
  }

  private locked<T>(work: () => Promise<T>): Promise<T> {
    const result = this.fileLock.then(work, work);
    this.fileLock = result.catch(() => undefined);
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

/** The exchange as one line of the spool, with a fresh key. */
function spoolLine(exchange: NewExchange, at: Date, writeKey?: string): string {
  const entry: SpoolLine = { key: randomUUID(), ts: at.toISOString(), ...(writeKey ? { writeKey } : {}), ...exchange };
  return `${JSON.stringify(entry)}\n`;
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
