import { Module } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { createInterface, type Interface } from 'node:readline';
import { Command, CommandRunner, Option } from 'nest-commander';
import { ClientClosedError } from '../../common/errors/app-errors';
import { ChatModule } from '../../modules/chat/chat.module';
import { ChatService } from '../../modules/chat/chat.service';
import { HistoryModule } from '../../modules/history/history.module';
import { HistoryService } from '../../modules/history/history.service';
import { commandMeta, optionMeta } from '../catalogue';
import { describeError } from '../cli-errors';
import { Output } from '../output/output';
import { readerHasLeft } from '../output/reader-left';
import { runTurn, StderrThinking } from './chat-turn';
import { printTranscript } from './conversation-views';
import { parseSessionId, parseText } from './option-parsers';

const PATH = ['repl'];
const HELP = '/history shows this session · /reset starts a new one · /exit or Ctrl-D leaves · Ctrl-C stops an answer';

/**
 * `vega repl`: prompts in a loop within one session (the chat memory). Works on a terminal
 * and with piped stdin (one prompt a line). Ctrl-C (SIGINT) while an answer streams cancels
 * it — the upstream request too — and the loop goes on; at an empty prompt it leaves.
 */
@Command(commandMeta(...PATH))
export class ReplCommand extends CommandRunner {
  private readonly out = new Output();
  private sessionId?: string;
  private inFlight?: AbortController;

  constructor(
    private readonly chat: ChatService,
    private readonly history: HistoryService,
  ) {
    super();
  }

  async run(_args: string[], options: { session?: string; model?: string }): Promise<void> {
    // Made here rather than by the first exchange, so a cancelled first answer is in the session too.
    this.sessionId = options.session ?? newSessionId();
    const interactive = process.stdin.isTTY === true && process.stdout.isTTY === true;
    const rl = createInterface({ input: process.stdin, output: process.stdout, terminal: interactive, prompt: this.out.colour.cyan('› ') });
    const interrupt = () => this.interrupt(rl);
    rl.on('SIGINT', interrupt); // Ctrl-C on a terminal (raw mode)
    process.on('SIGINT', interrupt); // the signal itself (piped stdin, kill -INT)
    if (interactive) this.out.note(`vega repl — ${HELP}`);
    try {
      if (interactive) rl.prompt();
      for await (const raw of rl) {
        const line = raw.trim();
        if (line === '/exit' || line === '/quit') break;
        if (line !== '') await this.handle(line, options.model);
        if (interactive) rl.prompt();
      }
    } finally {
      process.off('SIGINT', interrupt);
      rl.close();
    }
  }

  private interrupt(rl: Interface): void {
    if (this.inFlight) {
      this.inFlight.abort();
      return;
    }
    // Nothing in flight: Ctrl-C on an empty prompt leaves; on a half-typed line, clears it.
    const typed = (rl as Interface & { line?: string }).line ?? '';
    if (typed === '') {
      rl.close();
      return;
    }
    rl.write(null, { ctrl: true, name: 'u' });
    process.stdout.write('\n');
    rl.prompt();
  }

  private async handle(line: string, model: string | undefined): Promise<void> {
    if (line === '/help') return this.out.line(HELP);
    if (line === '/reset') {
      this.sessionId = newSessionId();
      return this.out.line(`(new session ${this.sessionId})`);
    }
    if (line === '/history') {
      const page = await this.history.session(this.sessionId!, { limit: 1000 });
      if (page.items.length === 0) return this.out.line('(nothing in this session yet)');
      return printTranscript(this.out, page.items);
    }
    if (line.startsWith('/')) return this.out.line(`unknown command ${line.split(/\s/)[0]}; ${HELP}`);

    const controller = new AbortController();
    this.inFlight = controller;
    try {
      const { result, endedWithNewline } = await runTurn(this.chat, {
        prompt: line,
        sessionId: this.sessionId,
        model,
        stream: true,
        thinking: new StderrThinking(),
        signal: controller.signal,
      });
      if (!endedWithNewline) this.out.line();
    } catch (error) {
      // The reader of stdout left: the entry ends the process quietly once the answer is stored.
      if (readerHasLeft()) return;
      if (controller.signal.aborted || error instanceof ClientClosedError) {
        this.out.line();
        process.stderr.write('(cancelled)\n');
      } else {
        if (process.stdout.isTTY) this.out.line();
        process.stderr.write(`${this.out.errColour.red('error:')} ${describeError(error, false)}\n`);
      }
    } finally {
      this.inFlight = undefined;
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
}

/** The same shape as the ids `ChatService` makes: 16 hex characters. */
const newSessionId = () => randomBytes(8).toString('hex');

@Module({ imports: [ChatModule, HistoryModule], providers: [ReplCommand] })
export class ReplCommandModule {}
