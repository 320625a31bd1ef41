import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { CONVERSATION_SOURCES, CONVERSATION_STATUSES } from '../../../core/persistence/conversation.entity';

/** One stored exchange (SPEC §4). */
export class ConversationDto {
  @ApiProperty({ description: 'Conversation id.', example: 42 })
  id!: number;

  @ApiProperty({ description: 'When it was stored, ISO 8601 in UTC.', example: '2026-11-24T10:15:30.123Z' })
  ts!: string;

  @ApiProperty({ description: 'The prompt as stored (PII-masked when PII_MASKING is on).', example: 'What does a circuit breaker do?' })
  prompt!: string;

  @ApiProperty({ description: 'The answer as stored (partial for an aborted stream).', example: 'It stops calls to a failing service…' })
  response!: string;

  @ApiProperty({ description: 'Where the exchange came from.', enum: CONVERSATION_SOURCES, example: 'api' })
  source!: string;

  @ApiProperty({ description: 'The session it belongs to.', nullable: true, type: String, example: 'a1b2c3d4e5f60718' })
  session_id!: string | null;

  @ApiProperty({ description: 'Feedback rating 1..5.', nullable: true, type: Number, example: 4 })
  rating!: number | null;

  @ApiProperty({ description: 'Feedback tags (free text).', nullable: true, type: String, example: 'good,concise' })
  tags!: string | null;

  @ApiProperty({ description: 'Feedback notes.', nullable: true, type: String, example: 'Accurate answer.' })
  notes!: string | null;

  @ApiProperty({ description: 'Whether a human reviewed it.', example: false })
  reviewed!: boolean;

  @ApiProperty({ description: 'The model that answered.', nullable: true, type: String, example: 'mistral' })
  model!: string | null;

  @ApiProperty({ description: 'Outcome of the exchange.', enum: CONVERSATION_STATUSES, example: 'ok' })
  status!: string;

  @ApiProperty({ description: 'Prompt tokens counted by the backend.', nullable: true, type: Number, example: 18 })
  prompt_tokens!: number | null;

  @ApiProperty({ description: 'Answer tokens counted by the backend.', nullable: true, type: Number, example: 42 })
  completion_tokens!: number | null;

  @ApiProperty({ description: 'Whole exchange duration in milliseconds.', nullable: true, type: Number, example: 812 })
  duration_ms!: number | null;

  @ApiProperty({ description: 'Time to the first token in milliseconds.', nullable: true, type: Number, example: 95 })
  ttft_ms!: number | null;

  @ApiProperty({
    description: "The backend's time spent generating the answer, in milliseconds (Ollama's total_duration, else the exchange's duration; 0 for an answer from the cache): the model-seconds of usage reports and budgets.",
    nullable: true,
    type: Number,
    example: 640,
  })
  model_ms!: number | null;

  @ApiProperty({
    description: 'The key that made it (`primary`, `extra-1`… for the keys from the environment); null for the CLI and for exchanges stored before Vega recorded keys.',
    nullable: true,
    type: String,
    example: 'primary',
  })
  key_id!: string | null;

  @ApiProperty({
    description: 'The model that answered: `model` is the one asked for, and one of its fallbacks may have served it instead. Null when no model answered, and for exchanges stored before Vega kept it.',
    nullable: true,
    type: String,
    example: 'mistral',
  })
  served_model!: string | null;

  @ApiProperty({
    description: 'The model server (target, by its name in the backends file or `host:port`) that answered, shown to admin keys only (target names are infrastructure); null for other keys, for an answer from the cache, when none answered, and for exchanges stored before Vega kept it.',
    nullable: true,
    type: String,
    example: 'gpu-1',
  })
  target!: string | null;
}

/** A history item; search results (`q`) add a snippet and a score. */
export class HistoryItemDto extends ConversationDto {
  @ApiPropertyOptional({
    description:
      'Search results only: a short extract of the best-matching field, HTML-escaped, with the matched words in `<mark>…</mark>`.',
    example: 'What does a <mark>circuit</mark> <mark>breaker</mark> do?',
  })
  snippet?: string;

  @ApiPropertyOptional({ description: 'Search results only: BM25 relevance (prompt matches weigh twice as much as response matches); higher is better.', example: 3.21 })
  score?: number;
}

export class HistoryPageDto {
  @ApiProperty({ description: 'The page, newest first (or most relevant first for a search).', type: [HistoryItemDto] })
  items!: HistoryItemDto[];

  @ApiProperty({
    description: 'Opaque cursor for the next page (pass it as `cursor`); null on the last page.',
    nullable: true,
    type: String,
    example: 'eyJrIjoiaWQiLCJpZCI6NDJ9',
  })
  next_cursor!: string | null;
}

export class SessionPageDto {
  @ApiProperty({ description: "The session's exchanges, oldest first.", type: [ConversationDto] })
  items!: ConversationDto[];

  @ApiProperty({ description: 'Opaque cursor for the rest of the session; null when it is complete.', nullable: true, type: String, example: null })
  next_cursor!: string | null;
}
