import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { FSWatcher, watch } from 'node:fs';
import { basename, dirname } from 'node:path';
import { SystemPromptService } from '../../core/llm/system-prompt.service';

/** Events of one save (editors write, truncate, rename) arrive in a burst: reload once it is over. */
export const SYSTEM_PROMPT_DEBOUNCE_MS = 150;

/**
 * Reloads the system prompt when `SYSTEM_PROMPT_FILE` changes. It watches the file's
 * DIRECTORY, not the file: an editor or `vega learn optimize-prompt --apply` replaces the file
 * by renaming another over it, which a watch on the old file would never see. HTTP app only
 * (a CLI command must not watch), closed on shutdown.
 */
@Injectable()
export class SystemPromptWatcher implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(SystemPromptWatcher.name);
  private watcher?: FSWatcher;
  private timer?: NodeJS.Timeout;

  constructor(private readonly systemPrompt: SystemPromptService) {}

  onApplicationBootstrap(): void {
    const file = this.systemPrompt.file;
    if (!file) return;
    const name = basename(file);
    try {
      // Not persistent: the watch alone never keeps the process alive.
      this.watcher = watch(dirname(file), { persistent: false }, (_event, changed) => {
        if (changed === null || changed.toString() === name) this.schedule();
      });
    } catch (error) {
      this.logger.warn(`Cannot watch ${dirname(file)} (${(error as NodeJS.ErrnoException).code ?? String(error)}); use POST /admin/system-prompt/reload after changing the system prompt`);
      return;
    }
    this.watcher.on('error', (error: NodeJS.ErrnoException) => {
      this.logger.warn(`Stopped watching the system prompt (${error.code ?? error.message}); use POST /admin/system-prompt/reload after changing it`);
      this.close();
    });
  }

  onApplicationShutdown(): void {
    this.close();
  }

  private schedule(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.reload(), SYSTEM_PROMPT_DEBOUNCE_MS);
    this.timer.unref();
  }

  private reload(): void {
    try {
      this.systemPrompt.reload();
    } catch (error) {
      // Between an unlink and the new file's arrival, or a permission slip: keep the old prompt.
      this.logger.warn((error as Error).message);
    }
  }

  private close(): void {
    clearTimeout(this.timer);
    this.watcher?.close();
    this.watcher = undefined;
  }
}
