import type { ConversationRecord, SearchHit } from '../../core/persistence/conversation-history.repository';
import { SNIPPET_CLOSE, SNIPPET_OPEN } from '../../core/persistence/conversation-history.repository';
import type { ConversationDto, HistoryItemDto } from './dto/conversation.dto';

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
    ts: record.ts.toISOString(),
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
