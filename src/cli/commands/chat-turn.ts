import { ClientClosedError } from '../../common/errors/app-errors';
import type { ChatResult, ChatService } from '../../modules/chat/chat.service';
import { Spinner } from '../output/progress';
import { windDownWhenReaderLeaves } from '../output/reader-left';

export interface TurnRequest {
  prompt: string;
  sessionId?: string;
  model?: string;
  /** Write tokens to stdout as they arrive; otherwise only the result is returned. */
  stream: boolean;
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
    const prepared = await chat.prepare({ prompt: request.prompt, sessionId: request.sessionId, model: request.model, source: 'cli' });
    for await (const event of chat.run(prepared, request.signal)) {
      if (event.type === 'done') return { result: event.result, endedWithNewline: last.endsWith('\n') };
      if (event.type !== 'token') continue;
      spinner.stop();
      if (request.stream && event.text !== '') {
        process.stdout.write(event.text);
        last = event.text;
      }
    }
    throw new ClientClosedError();
  } finally {
    spinner.stop();
  }
}
