import type { ImportedConversation } from './conversation-history.repository';
import { toolSearchText } from './stored-exchange';

/** The columns an imported conversation is written to (every dialect's `importMany`). */
export const IMPORT_COLUMNS = [
  'ts',
  'prompt',
  'response',
  'source',
  'session_id',
  'rating',
  'tags',
  'notes',
  'reviewed',
  'model',
  'status',
  'prompt_tokens',
  'completion_tokens',
  'duration_ms',
  'ttft_ms',
  'model_ms',
  'kind',
  'request',
  'answer',
  'tool_text',
  'key_id',
  'response_id',
  'served_model',
  'target',
] as const;

/** How a dialect stores a time and a flag (SQLite: text and 0/1). */
export interface ImportEncoding {
  ts(date: Date): unknown;
  flag(value: boolean): unknown;
}

/** The values of `IMPORT_COLUMNS` for one row: request and answer as JSON text, the tool words for search. */
export function importValues(row: ImportedConversation, encoding: ImportEncoding): unknown[] {
  return [
    encoding.ts(row.ts),
    row.prompt,
    row.response,
    row.source,
    row.sessionId,
    row.rating,
    row.tags,
    row.notes,
    encoding.flag(row.reviewed),
    row.model,
    row.status,
    row.promptTokens,
    row.completionTokens,
    row.durationMs,
    row.ttftMs,
    row.modelMs,
    row.kind,
    row.request ? JSON.stringify(row.request) : null,
    row.answer ? JSON.stringify(row.answer) : null,
    toolSearchText(row.request ?? undefined, row.answer ?? undefined),
    row.keyId,
    row.responseId,
    row.servedModel,
    row.target,
  ];
}

/**
 * The rows with each response id the database (`taken` answers which of the given ids it holds)
 * or an earlier row of the import already holds set to null: response ids are unique, and the
 * first copy keeps answering to it.
 */
export async function withoutTakenResponseIds(
  rows: ImportedConversation[],
  taken: (ids: string[]) => Promise<string[]>,
): Promise<ImportedConversation[]> {
  const ids = [...new Set(rows.flatMap((row) => (row.responseId ? [row.responseId] : [])))];
  if (ids.length === 0) return rows;
  const held = new Set<string>();
  for (let start = 0; start < ids.length; start += 500) {
    for (const id of await taken(ids.slice(start, start + 500))) held.add(id);
  }
  return rows.map((row) => {
    if (!row.responseId) return row;
    if (held.has(row.responseId)) return { ...row, responseId: null };
    held.add(row.responseId);
    return row;
  });
}

/** A stored JSON column; text that is not JSON (edited by hand) reads as absent rather than failing the read. */
export function parseStoredJson<T>(text: string | null): T | null {
  if (text === null) return null;
  try {
    return JSON.parse(text) as T;
  } catch {
    return null;
  }
}
