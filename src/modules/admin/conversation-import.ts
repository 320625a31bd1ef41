import { InvalidInputError } from '../../common/errors/app-errors';
import type { ImportedConversation } from '../../core/persistence/conversation-history.repository';
import { CONVERSATION_SOURCES, CONVERSATION_STATUSES } from '../../core/persistence/conversation.entity';
import { EXCHANGE_KINDS } from '../../core/persistence/stored-exchange';
import { parseExportedAnswer, parseExportedRequest } from './exchange-import';

const RESPONSE_ID = /^resp_[A-Za-z0-9]{1,64}$/;
const STORED_TS = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{1,3})?$/;

/**
 * One line of an export (`GET /admin/export`, `vega db export`: what `GET /conversations/{id}`
 * answers) → a row to insert. The id is dropped (the database assigns new ones); `ts` may be
 * ISO 8601 or the stored format; absent optional fields become null, an absent `kind` is a chat
 * (an export made before Vega kept the whole exchange has neither kind, request nor answer).
 * Throws `InvalidInputError` naming the line and the field.
 */
export function parseExportLine(line: string, lineNumber: number): ImportedConversation {
  const fail = (reason: string): never => {
    throw new InvalidInputError(`line ${lineNumber}: ${reason}`);
  };
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return fail('not valid JSON');
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) return fail('not a JSON object');
  const row = value as Record<string, unknown>;
  const text = (field: string, required: boolean): string | null => {
    const v = row[field];
    if (v === undefined || v === null) return required ? fail(`${field} is required`) : null;
    return typeof v === 'string' ? v : fail(`${field} must be a string`);
  };
  const integer = (field: string, min: number, max: number): number | null => {
    const v = row[field];
    if (v === undefined || v === null) return null;
    return Number.isInteger(v) && (v as number) >= min && (v as number) <= max ? (v as number) : fail(`${field} must be an integer between ${min} and ${max}`);
  };
  const oneOf = <T extends string>(field: string, allowed: readonly T[], fallback: T): T => {
    const v = row[field];
    if (v === undefined || v === null) return fallback;
    return allowed.includes(v as T) ? (v as T) : fail(`${field} must be one of ${allowed.join(', ')}`);
  };
  const reviewed = row.reviewed;
  if (reviewed !== undefined && reviewed !== null && typeof reviewed !== 'boolean' && reviewed !== 0 && reviewed !== 1) {
    fail('reviewed must be true or false');
  }
  const sessionId = text('session_id', false);
  if (sessionId !== null && sessionId.length > 64) fail('session_id must be at most 64 characters');
  const responseId = text('response_id', false);
  if (responseId !== null && !RESPONSE_ID.test(responseId)) fail('response_id must be "resp_" and 1 to 64 letters or digits');
  return {
    ts: timestamp(row.ts, fail),
    prompt: text('prompt', true)!,
    response: text('response', true)!,
    source: oneOf('source', CONVERSATION_SOURCES, 'api'),
    sessionId,
    rating: integer('rating', 1, 5),
    tags: text('tags', false),
    notes: text('notes', false),
    reviewed: reviewed === true || reviewed === 1,
    model: text('model', false),
    status: oneOf('status', CONVERSATION_STATUSES, 'ok'),
    promptTokens: integer('prompt_tokens', 0, Number.MAX_SAFE_INTEGER),
    completionTokens: integer('completion_tokens', 0, Number.MAX_SAFE_INTEGER),
    durationMs: integer('duration_ms', 0, Number.MAX_SAFE_INTEGER),
    ttftMs: integer('ttft_ms', 0, Number.MAX_SAFE_INTEGER),
    modelMs: integer('model_ms', 0, Number.MAX_SAFE_INTEGER),
    kind: oneOf('kind', EXCHANGE_KINDS, 'chat'),
    // The rows keep their owner: a key restricted to its own history still finds them after a restore.
    keyId: text('key_id', false),
    request: parseExportedRequest(row.request, fail),
    answer: parseExportedAnswer(row.answer, fail),
    responseId,
    servedModel: text('served_model', false),
    target: text('target', false),
  };
}

function timestamp(value: unknown, fail: (reason: string) => never): Date {
  if (value === undefined || value === null) return new Date();
  if (typeof value !== 'string') return fail('ts must be a date-time string');
  // The stored form (`YYYY-MM-DD HH:MM:SS.SSS`) is UTC, though it says no zone.
  const date = new Date(STORED_TS.test(value) ? `${value.replace(' ', 'T')}Z` : value);
  return Number.isNaN(date.getTime()) ? fail('ts must be an ISO 8601 date-time') : date;
}
