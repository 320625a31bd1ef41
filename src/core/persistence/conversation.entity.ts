import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';
import type { ExchangeKind } from './stored-exchange';

export const CONVERSATION_STATUSES = ['ok', 'error', 'aborted', 'cached'] as const;
export type ConversationStatus = (typeof CONVERSATION_STATUSES)[number];

/**
 * `openai`: the OpenAI-compatible routes (`/v1/chat/completions`); `ollama`: Ollama's native routes
 * (`/api/chat`, `/api/generate`, `/api/embed`); `anthropic`: Anthropic's Messages (`/v1/messages`);
 * `responses`: OpenAI's Responses (`/v1/responses`).
 */
export const CONVERSATION_SOURCES = ['api', 'cli', 'integration', 'openai', 'ollama', 'anthropic', 'responses'] as const;
export type ConversationSource = (typeof CONVERSATION_SOURCES)[number];

/** One prompt/response exchange (SPEC §4). The schema itself is owned by the migrations. */
@Entity({ name: 'conversations' })
export class ConversationEntity {
  @PrimaryGeneratedColumn()
  id!: number;

  /** UTC, stored as `YYYY-MM-DD HH:MM:SS.SSS`. */
  @Column({ type: 'datetime' })
  ts!: string;

  @Column({ type: 'text' })
  prompt!: string;

  @Column({ type: 'text' })
  response!: string;

  @Column({ type: 'varchar', length: 32 })
  source!: ConversationSource;

  @Column({ name: 'session_id', type: 'varchar', length: 64, nullable: true })
  sessionId!: string | null;

  @Column({ type: 'integer', nullable: true })
  rating!: number | null;

  @Column({ type: 'text', nullable: true })
  tags!: string | null;

  @Column({ type: 'text', nullable: true })
  notes!: string | null;

  @Column({ type: 'integer', default: 0 })
  reviewed!: number;

  @Column({ type: 'varchar', length: 200, nullable: true })
  model!: string | null;

  @Column({ type: 'varchar', length: 16, default: 'ok' })
  status!: ConversationStatus;

  @Column({ name: 'prompt_tokens', type: 'integer', nullable: true })
  promptTokens!: number | null;

  @Column({ name: 'completion_tokens', type: 'integer', nullable: true })
  completionTokens!: number | null;

  @Column({ name: 'duration_ms', type: 'integer', nullable: true })
  durationMs!: number | null;

  @Column({ name: 'ttft_ms', type: 'integer', nullable: true })
  ttftMs!: number | null;

  @Column({ type: 'varchar', length: 16, default: 'chat' })
  kind!: ExchangeKind;

  /** The whole request as JSON (`StoredRequest`); null for rows stored before it was kept. */
  @Column({ type: 'text', nullable: true })
  request!: string | null;

  /** The whole answer as JSON (`StoredAnswer`); null for rows stored before it was kept. */
  @Column({ type: 'text', nullable: true })
  answer!: string | null;

  /** Tool names and call arguments as words, for the full-text index (`toolSearchText`). */
  @Column({ name: 'tool_text', type: 'text', nullable: true })
  toolText!: string | null;

  /** The `resp_…` id of an exchange of OpenAI's Responses API; null for every other exchange. */
  @Column({ name: 'response_id', type: 'text', nullable: true })
  responseId!: string | null;

  /** The key that made the exchange (a bootstrap key's `primary`, `extra-1`…, or a managed key's id); null without one. */
  @Column({ name: 'key_id', type: 'text', nullable: true })
  keyId!: string | null;

  /** The backend's time spent generating the answer, in milliseconds (0 for a cached answer). */
  @Column({ name: 'model_ms', type: 'integer', nullable: true })
  modelMs!: number | null;

  /** The model that answered (`model` is the one asked for; a fallback may have served it); null when none did. */
  @Column({ name: 'served_model', type: 'text', nullable: true })
  servedModel!: string | null;

  /** The model server (target) that answered, by name; null for the cache, and when none did. */
  @Column({ type: 'text', nullable: true })
  target!: string | null;
}
