import { Injectable, Logger } from '@nestjs/common';
import { readFileSync } from 'node:fs';
import { AppConfig, ConfigError } from '../../config/app-config';

/** The system prompt from `SYSTEM_PROMPT_FILE`, read at start and on `reload()`. */
@Injectable()
export class SystemPromptService {
  private readonly logger = new Logger(SystemPromptService.name);
  private text?: string;

  constructor(private readonly config: AppConfig) {
    this.text = this.read();
  }

  get(): string | undefined {
    return this.text;
  }

  get file(): string | undefined {
    return this.config.llm.systemPromptFile;
  }

  reload(): string | undefined {
    this.text = this.read();
    this.logger.log(this.text ? `System prompt reloaded (${this.text.length} chars)` : 'System prompt cleared');
    return this.text;
  }

  private read(): string | undefined {
    const file = this.config.llm.systemPromptFile;
    if (!file) return undefined;
    try {
      const text = readFileSync(file, 'utf8').trim();
      return text === '' ? undefined : text;
    } catch (error) {
      const code = (error as { code?: string }).code ?? String(error);
      throw new ConfigError(`Invalid configuration: SYSTEM_PROMPT_FILE cannot be read (${file}: ${code})`);
    }
  }
}
