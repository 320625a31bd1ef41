import { Module } from '@nestjs/common';
import { Command, CommandRunner, Option } from 'nest-commander';
import { ChatModule } from '../../modules/chat/chat.module';
import { ChatService } from '../../modules/chat/chat.service';
import { commandMeta, optionMeta } from '../catalogue';
import { InterruptedError } from '../cli-errors';
import { Output } from '../output/output';
import { StderrThinking, runTurn } from './chat-turn';
import { collectImage, parseFormat, parseThinkLevel, readImageFiles } from './chat-options';
import { AppConfig } from '../../config/app-config';
import { parseSessionId, parseText } from './option-parsers';
import type { OutputFormat, ThinkSetting } from '../../core/llm/llm-backend';

interface ChatOptions {
  session?: string;
  model?: string;
  stream?: boolean;
  json?: boolean;
  think?: boolean;
  thinkLevel?: ThinkSetting;
  format?: OutputFormat;
  image?: string[];
}

const PATH = ['chat'];

/** `vega chat "<prompt>"`: one exchange, streamed to stdout. Ctrl-C stops it (exit 130). */
@Command(commandMeta(...PATH))
export class ChatCommand extends CommandRunner {
  private readonly out = new Output();

  constructor(
    private readonly chat: ChatService,
    private readonly config: AppConfig,
  ) {
    super();
  }

  async run(words: string[], options: ChatOptions): Promise<void> {
    const prompt = parseText(words.join(' '), 'the prompt');
    const images = readImageFiles(options.image ?? [], this.config.images.maxBytes);
    const json = options.json === true;
    const stream = options.stream !== false && !json;
    const controller = new AbortController();
    const interrupt = () => controller.abort();
    process.once('SIGINT', interrupt);
    try {
      const { result, endedWithNewline } = await runTurn(this.chat, {
        prompt,
        sessionId: options.session,
        model: options.model,
        images,
        format: options.format,
        think: options.thinkLevel ?? options.think,
        stream,
        thinking: new StderrThinking(),
        signal: controller.signal,
      });
      if (json) {
        this.out.json({
          response: result.response,
          conversation_id: result.conversationId,
          ...(result.conversationId === null ? { conversation_pending: true } : {}),
          session_id: result.sessionId,
          model: result.model,
          cached: result.cached,
          usage: { prompt_tokens: result.usage.promptTokens, completion_tokens: result.usage.completionTokens },
          ...(result.thinking ? { thinking: result.thinking } : {}),
        });
        return;
      }
      if (!stream && result.thinking) {
        const thinking = new StderrThinking();
        thinking.write(result.thinking);
        thinking.end();
      }
      if (!stream) this.out.write(result.response);
      if (!(stream ? endedWithNewline : result.response.endsWith('\n'))) this.out.line();
      this.out.note(`session ${result.sessionId} · ${result.conversationId === null ? 'storage pending (database locked)' : `#${result.conversationId}`} · ${result.usage.completionTokens} tokens${result.cached ? ' · cached' : ''}`);
    } catch (error) {
      if (controller.signal.aborted) {
        if (stream) this.out.line();
        throw new InterruptedError();
      }
      if (stream && process.stdout.isTTY) this.out.line();
      throw error;
    } finally {
      process.off('SIGINT', interrupt);
    }
  }

  @Option(optionMeta(PATH, '--session'))
  parseSession(value: string): string {
    return parseSessionId(value);
  }

  @Option(optionMeta(PATH, '--model'))
  parseModel(value: string): string {
    return parseText(value, '--model');
  }

  @Option(optionMeta(PATH, '--no-stream'))
  parseStream(): boolean {
    return false;
  }

  @Option(optionMeta(PATH, '--image'))
  parseImage(value: string, previous?: string[]): string[] {
    return collectImage(value, previous);
  }

  @Option(optionMeta(PATH, '--think'))
  parseThink(): boolean {
    return true;
  }

  @Option(optionMeta(PATH, '--think-level'))
  parseThinkLevel(value: string): ThinkSetting {
    return parseThinkLevel(value);
  }

  @Option(optionMeta(PATH, '--format'))
  parseFormat(value: string): OutputFormat {
    return parseFormat(value);
  }

  @Option(optionMeta(PATH, '--json'))
  parseJson(): boolean {
    return true;
  }
}

@Module({ imports: [ChatModule], providers: [ChatCommand] })
export class ChatCommandModule {}
