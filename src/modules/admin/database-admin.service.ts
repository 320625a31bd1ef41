import { Injectable } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { setImmediate as yieldToOthers } from 'node:timers/promises';
import { AppConfig } from '../../config/app-config';
import { ConversationHistoryRepository } from '../../core/persistence/conversation-history.repository';
import { DatabaseMaintenance } from '../../core/persistence/database-maintenance';
import { toStoredTs } from '../history/history.service';

/** Rows deleted per statement: each batch is a short write, so chat requests keep storing in between. */
const PURGE_BATCH = 2000;
const DAY_MS = 86_400_000;

export interface BackupResult {
  path: string;
  sizeBytes: number;
  createdAt: Date;
}

export interface PurgeResult {
  deleted: number;
  before: Date;
}

/** Backup and purge of the conversation database, for the admin API, the retention job and the CLI. */
@Injectable()
export class DatabaseAdminService {
  constructor(
    private readonly config: AppConfig,
    private readonly conversations: ConversationHistoryRepository,
    private readonly database: DatabaseMaintenance,
  ) {}

  /** A consistent copy of the database in `<data dir>/backups/`. */
  async backup(now = new Date()): Promise<BackupResult> {
    const dir = join(this.config.dataDir, 'backups');
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').replace('.', '-').slice(0, 19);
    const path = join(dir, `vega-${stamp}-${randomBytes(2).toString('hex')}.db`);
    await this.database.backupTo(path);
    return { path, sizeBytes: (await stat(path)).size, createdAt: now };
  }

  /** Deletes the conversations stored more than `days` days before `now`, in short batches. */
  async purgeOlderThan(days: number, now = new Date()): Promise<PurgeResult> {
    const before = new Date(now.getTime() - days * DAY_MS);
    const cutoff = toStoredTs(before);
    let deleted = 0;
    for (;;) {
      const count = await this.conversations.purgeBatch(cutoff, PURGE_BATCH);
      deleted += count;
      if (count < PURGE_BATCH) return { deleted, before };
      await yieldToOthers();
    }
  }
}
