import type { ConversationRecord, SearchHit } from '../../core/persistence/conversation-history.repository';
import { SNIPPET_CLOSE, SNIPPET_OPEN } from '../../core/persistence/conversation-history.repository';
import type { ConversationDto, HistoryItemDto } from './dto/conversation.dto';

const STORED_TS = /^(\d{4}-\d\d-\d\d)[ T](\d\d:\d\d:\d\d)(\.\d+)?$/;

/** Stored UTC `YYYY-MM-DD HH:MM:SS.SSS` → ISO 8601 with `Z`; anything else (older rows) as stored. */
export function isoTs(stored: string): string {
  const match = STORED_TS.exec(stored);
  if (!match) return stored;
  const fraction = (match[3] ?? '.000').padEnd(4, '0').slice(0, 4);
  return `${match[1]}T${match[2]}${fraction}Z`;
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** The raw snippet, HTML-escaped, with the match markers turned into `<mark>` tags. */
export function snippetHtml(raw: string): string {
  return raw
    .replace(/[&<>"']/g, (char) => ESCAPES[char])
    .replaceAll(SNIPPET_OPEN, '<mark>')
    .replaceAll(SNIPPET_CLOSE, '</mark>');
}

export function toConversationDto(record: ConversationRecord): ConversationDto {
  return {
    id: record.id,
    ts: isoTs(record.ts),
    prompt: record.prompt,
    response: record.response,
    source: record.source,
    session_id: record.sessionId,
    rating: record.rating,
    tags: record.tags,
    notes: record.notes,
    reviewed: record.reviewed,
    model: record.model,
    status: record.status,
    prompt_tokens: record.promptTokens,
    completion_tokens: record.completionTokens,
    duration_ms: record.durationMs,
    ttft_ms: record.ttftMs,
    model_ms: record.modelMs,
    key_id: record.keyId,
    served_model: record.servedModel,
    target: record.target,
  };
}

export function toHistoryItemDto(record: ConversationRecord | SearchHit): HistoryItemDto {
  const dto: HistoryItemDto = toConversationDto(record);
  if ('snippet' in record) {
    dto.snippet = snippetHtml(record.snippet);
    dto.score = record.score;
  }
  return dto;
}
