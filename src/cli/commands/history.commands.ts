import { Module } from '@nestjs/common';
import { Command, CommandRunner, Option } from 'nest-commander';
import { HistoryModule } from '../../modules/history/history.module';
import { HistoryService } from '../../modules/history/history.service';
import { toConversationDto, toHistoryItemDto } from '../../modules/history/conversation.mapper';
import { commandMeta, optionMeta } from '../catalogue';
import { CommandFailedError } from '../cli-errors';
import { Output } from '../output/output';
import { printConversation, printConversationTable, printTranscript } from './conversation-views';
import { CONVERSATION_STATUSES, type ConversationStatus } from '../../core/persistence/conversation.entity';
import { parseInteger, parseSessionId, parseStatusList, parseText } from './option-parsers';

const HISTORY = ['history'];
const SESSION = ['session'];
const FEEDBACK = ['feedback'];

interface HistoryOptions {
  limit?: number;
  session?: string;
  search?: string;
  status?: ConversationStatus[];
  json?: boolean;
}

/** `vega history`: the newest exchanges (or search results), as a table or the API's JSON. */
@Command(commandMeta(...HISTORY))
export class HistoryCommand extends CommandRunner {
  private readonly out = new Output();

  constructor(private readonly history: HistoryService) {
    super();
  }

  async run(_args: string[], options: HistoryOptions): Promise<void> {
    const page = await this.history.page(
      { sessionId: options.session, q: options.search, statuses: options.status },
      { limit: options.limit ?? 20 },
    );
    if (options.json) {
      this.out.json({ items: page.items.map(toHistoryItemDto), next_cursor: page.nextCursor });
      return;
    }
    if (page.items.length === 0) {
      this.out.note(options.search ? 'No matches.' : 'No conversations yet.');
      return;
    }
    printConversationTable(this.out, page.items);
  }

  @Option(optionMeta(HISTORY, '--limit'))
  parseLimit(value: string): number {
    return parseInteger(value, '--limit', 1, 500);
  }

  @Option(optionMeta(HISTORY, '--session'))
  parseSession(value: string): string {
    return parseSessionId(value);
  }

  @Option(optionMeta(HISTORY, '--search'))
  parseSearch(value: string): string {
    return parseText(value, '--search');
  }

  @Option(optionMeta(HISTORY, '--status'))
  parseStatus(value: string): ConversationStatus[] {
    return parseStatusList(value, '--status', CONVERSATION_STATUSES);
  }

  @Option(optionMeta(HISTORY, '--json'))
  parseJson(): boolean {
    return true;
  }
}

/** `vega session ID`: a session's exchanges, oldest first, as a transcript or JSON. */
@Command(commandMeta(...SESSION))
export class SessionCommand extends CommandRunner {
  private readonly out = new Output();

  constructor(private readonly history: HistoryService) {
    super();
  }

  async run([id]: string[], options: { json?: boolean }): Promise<void> {
    const sessionId = parseSessionId(id, 'the session id');
    const page = await this.history.session(sessionId, { limit: 1000 });
    if (options.json) {
      this.out.json({ items: page.items.map(toConversationDto), next_cursor: page.nextCursor });
      return;
    }
    if (page.items.length === 0) throw new CommandFailedError(`session ${sessionId} has no exchanges`);
    printTranscript(this.out, page.items);
  }

  @Option(optionMeta(SESSION, '--json'))
  parseJson(): boolean {
    return true;
  }
}

interface FeedbackOptions {
  rating?: number;
  tags?: string;
  notes?: string;
  reviewed?: boolean;
  json?: boolean;
}

/** `vega feedback ID --rating N …`: the same update as `POST /feedback`. */
@Command(commandMeta(...FEEDBACK))
export class FeedbackCommand extends CommandRunner {
  private readonly out = new Output();

  constructor(private readonly history: HistoryService) {
    super();
  }

  async run([id]: string[], options: FeedbackOptions): Promise<void> {
    const conversationId = parseInteger(id, 'the conversation id', 1, Number.MAX_SAFE_INTEGER);
    const row = await this.history.feedback(conversationId, {
      rating: options.rating,
      tags: options.tags,
      notes: options.notes,
      reviewed: options.reviewed,
    });
    if (options.json) this.out.json(toConversationDto(row));
    else printConversation(this.out, row);
  }

  @Option(optionMeta(FEEDBACK, '--rating'))
  parseRating(value: string): number {
    return parseInteger(value, '--rating', 1, 5);
  }

  @Option(optionMeta(FEEDBACK, '--tags'))
  parseTags(value: string): string {
    return value;
  }

  @Option(optionMeta(FEEDBACK, '--notes'))
  parseNotes(value: string): string {
    return value;
  }

  @Option(optionMeta(FEEDBACK, '--reviewed'))
  parseReviewed(): boolean {
    return true;
  }

  @Option(optionMeta(FEEDBACK, '--json'))
  parseJson(): boolean {
    return true;
  }
}

@Module({ imports: [HistoryModule], providers: [HistoryCommand, SessionCommand, FeedbackCommand] })
export class HistoryCommandsModule {}
