import { Injectable } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { setImmediate as yieldToOthers } from 'node:timers/promises';
import { AppConfig } from '../../config/app-config';
import { ConversationHistoryRepository, ImportedConversation } from '../../core/persistence/conversation-history.repository';
import { ConversationsService } from '../../core/persistence/conversations.service';
import { DatabaseMaintenance } from '../../core/persistence/database-maintenance';
import { parseExportLine } from './conversation-import';

/** Rows deleted per statement: each batch is a short write, so chat requests keep storing in between. */
const PURGE_BATCH = 2000;
const DAY_MS = 86_400_000;
/** Rows inserted per transaction on import: short writes, like the purge. */
const IMPORT_BATCH = 1000;

export interface BackupResult {
  path: string;
  sizeBytes: number;
  createdAt: Date;
}

export interface PurgeResult {
  deleted: number;
  before: Date;
}

export interface VacuumResult {
  sizeBeforeBytes: number;
  sizeAfterBytes: number;
}

/** Backup and purge of the conversation database, for the admin API, the retention job and the CLI. */
@Injectable()
export class DatabaseAdminService {
  constructor(
    private readonly config: AppConfig,
    private readonly conversations: ConversationHistoryRepository,
    private readonly database: DatabaseMaintenance,
    private readonly store: ConversationsService,
  ) {}

  /** A consistent copy of the database in `<data dir>/backups/`. */
  async backup(now = new Date()): Promise<BackupResult> {
    const dir = join(this.config.dataDir, 'backups');
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').replace('.', '-').slice(0, 19);
    const path = join(dir, `vega-${stamp}-${randomBytes(2).toString('hex')}${this.database.backupExtension}`);
    await this.database.backupTo(path);
    return { path, sizeBytes: (await stat(path)).size, createdAt: now };
  }

  /** Deletes the conversations stored more than `days` days before `now`, in short batches. */
  async purgeOlderThan(days: number, now = new Date()): Promise<PurgeResult> {
    const before = new Date(now.getTime() - days * DAY_MS);
    let deleted = 0;
    for (;;) {
      const count = await this.conversations.purgeBatch(before, PURGE_BATCH);
      deleted += count;
      if (count < PURGE_BATCH) return { deleted, before };
      await yieldToOthers();
    }
  }

  /** Compacts the database file; returns its size (with the WAL) before and after. */
  async vacuum(): Promise<VacuumResult> {
    const size = async () => {
      const info = await this.database.fileInfo();
      return info.sizeBytes + info.walBytes;
    };
    const sizeBeforeBytes = await size();
    await this.database.vacuum();
    return { sizeBeforeBytes, sizeAfterBytes: await size() };
  }

  /**
   * Imports an export (JSON Lines, what `GET /conversations/{id}` answers) in batches of short
   * transactions; blank lines are skipped. Stops at the first invalid line, naming it (the
   * batches before it stay imported; the count says how many). The store's policy applies as
   * on the chat path: with `PII_MASKING` every text is masked (prompt, response and the whole
   * request and answer), image bytes are kept only with `STORE_IMAGES`. `onProgress` gets the
   * number of rows imported so far.
   */
  async importConversations(lines: AsyncIterable<string>, onProgress?: (imported: number) => void): Promise<{ imported: number }> {
    let batch: ImportedConversation[] = [];
    let imported = 0;
    let lineNumber = 0;
    const flush = async () => {
      imported += await this.conversations.importMany(batch);
      batch = [];
      onProgress?.(imported);
    };
    try {
      for await (const line of lines) {
        lineNumber += 1;
        if (line.trim() === '') continue;
        const row = parseExportLine(line, lineNumber);
        batch.push(this.store.storable(row));
        if (batch.length >= IMPORT_BATCH) await flush();
      }
      await flush();
    } catch (error) {
      if (imported > 0 && error instanceof Error) error.message += ` (${imported} row(s) imported before it)`;
      throw error;
    }
    return { imported };
  }
}
