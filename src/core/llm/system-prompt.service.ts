import { Injectable, Logger, Optional } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { AppError } from '../../common/errors/app-errors';
import { AppConfig, ConfigError } from '../../config/app-config';
import { ChangeNotices } from '../redis/change-notices';

/** What is loaded now: the file, and the prompt's length and SHA-256 (null when there is none). */
export interface SystemPromptState {
  file: string | null;
  length: number;
  sha256: string | null;
}

/** A reload found `SYSTEM_PROMPT_FILE` unreadable; the previous prompt stays in use. */
export class SystemPromptUnreadableError extends AppError {
  readonly status = 500;
}

/** The system prompt from `SYSTEM_PROMPT_FILE`, read at start and on `reload()`. */
@Injectable()
export class SystemPromptService {
  private readonly logger = new Logger(SystemPromptService.name);
  private text?: string;

  constructor(
    private readonly config: AppConfig,
    /** With several instances (Redis): a reload here makes every instance read its file again. */
    @Optional() private readonly notices?: ChangeNotices,
  ) {
    try {
      this.text = this.read();
    } catch (error) {
      throw new ConfigError(`Invalid configuration: SYSTEM_PROMPT_FILE cannot be read (${this.file}: ${codeOf(error)})`);
    }
    notices?.on('system-prompt', () => {
      try {
        this.readAgain();
      } catch (error) {
        this.logger.warn(`System prompt not reloaded on another instance's notice: ${error instanceof Error ? error.message : String(error)}`);
      }
    });
  }

  get(): string | undefined {
    return this.text;
  }

  get file(): string | undefined {
    return this.config.llm.systemPromptFile;
  }

  state(): SystemPromptState {
    return {
      file: this.file ?? null,
      length: this.text?.length ?? 0,
      sha256: this.text === undefined ? null : createHash('sha256').update(this.text).digest('hex'),
    };
  }

  /**
   * Reads the file again. When it cannot be read (gone, no permission), the prompt in use is
   * kept and `SystemPromptUnreadableError` says why: a half-done edit never blanks the prompt.
   */
  reload(): SystemPromptState & { changed: boolean } {
    const reloaded = this.readAgain();
    this.notices?.announce('system-prompt');
    return reloaded;
  }

  private readAgain(): SystemPromptState & { changed: boolean } {
    let next: string | undefined;
    try {
      next = this.read();
    } catch (error) {
      throw new SystemPromptUnreadableError(
        `SYSTEM_PROMPT_FILE cannot be read (${this.file}: ${codeOf(error)}); the previous system prompt (${this.text?.length ?? 0} chars) stays in use`,
      );
    }
    const changed = next !== this.text;
    this.text = next;
    if (changed) this.logger.log(this.text ? `System prompt reloaded (${this.text.length} chars)` : 'System prompt cleared');
    return { ...this.state(), changed };
  }

  private read(): string | undefined {
    const file = this.file;
    if (!file) return undefined;
    const text = readFileSync(file, 'utf8').trim();
    return text === '' ? undefined : text;
  }
}

const codeOf = (error: unknown): string => (error as { code?: string }).code ?? String(error);
