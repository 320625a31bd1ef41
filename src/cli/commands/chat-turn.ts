import { ClientClosedError } from '../../common/errors/app-errors';
import type { OutputFormat, ThinkSetting } from '../../core/llm/llm-backend';
import type { ChatResult, ChatService, ImageSource } from '../../modules/chat/chat.service';
import { paletteFor } from '../output/colour';
import { Spinner } from '../output/progress';
import { windDownWhenReaderLeaves } from '../output/reader-left';

export interface ThinkingSink {
  write(text: string): void;
  end(): void;
}

export interface TurnRequest {
  prompt: string;
  sessionId?: string;
  model?: string;
  images?: ImageSource[];
  format?: OutputFormat;
  think?: ThinkSetting;
  /** Write tokens to stdout as they arrive; otherwise only the result is returned. */
  stream: boolean;
  /** With `stream`: where the model's reasoning goes as it arrives; `end()` comes before the first token. */
  thinking?: ThinkingSink;
  signal: AbortSignal;
}

/**
 * One exchange from the CLI (stored with source `cli`): a spinner on stderr until the first
 * token, then the tokens on stdout as they arrive. An abort stops the model upstream and
 * keeps the partial answer as an `aborted` row; it surfaces as `ClientClosedError`. So does a
 * reader of stdout that leaves (`vega chat … | head`).
 */
export function runTurn(chat: ChatService, request: TurnRequest): Promise<{ result: ChatResult; endedWithNewline: boolean }> {
  // A reader of stdout that leaves mid-answer stops the turn like Ctrl-C: the partial answer is stored before the exit.
  const readerGone = new AbortController();
  const signal = AbortSignal.any([request.signal, readerGone.signal]);
  return windDownWhenReaderLeaves(() => readerGone.abort(), turn(chat, { ...request, signal }));
}

async function turn(chat: ChatService, request: TurnRequest): Promise<{ result: ChatResult; endedWithNewline: boolean }> {
  const spinner = new Spinner('thinking…').start();
  let last = '';
  try {
    const { prompt, sessionId, model, images, format, think } = request;
    const prepared = await chat.prepare({ prompt, sessionId, model, images, format, think, source: 'cli' }, request.signal);
    for await (const event of chat.run(prepared, request.signal)) {
      if (event.type === 'done') return { result: event.result, endedWithNewline: last.endsWith('\n') };
      if (event.type === 'thinking' && request.stream && event.text !== '') {
        spinner.stop();
        request.thinking?.write(event.text);
      }
      if (event.type !== 'token') continue;
      spinner.stop();
      request.thinking?.end();
      if (request.stream && event.text !== '') {
        process.stdout.write(event.text);
        last = event.text;
      }
    }
    throw new ClientClosedError();
  } finally {
    spinner.stop();
    request.thinking?.end();
  }
}

/**
 * The model's reasoning on stderr, dimmed where stderr shows colour: stdout keeps the answer
 * alone, so `vega chat --think --format json … | jq` still reads pure JSON. A blank line parts
 * the reasoning from the answer that follows it on a terminal.
 */
export class StderrThinking implements ThinkingSink {
  private readonly colour = paletteFor(process.stderr);
  private open = false;
  private last = '';

  write(text: string): void {
    this.open = true;
    this.last = text;
    process.stderr.write(this.colour.dim(text));
  }

  end(): void {
    if (!this.open) return;
    this.open = false;
    process.stderr.write(this.last.endsWith('\n') ? '\n' : '\n\n');
  }
}
