import { createHash } from 'node:crypto';
import { InvalidInputError } from '../../common/errors/app-errors';

/**
 * Opaque page cursors. Newest-first pages continue below the last id seen (keyset), so rows
 * stored meanwhile never shift a page. Relevance pages continue at an offset within the rows
 * that existed when the search began (`maxId`), and carry a fingerprint of the search so a
 * cursor cannot be replayed against another one.
 */
export type HistoryCursor = { kind: 'id'; id: number } | { kind: 'rank'; offset: number; maxId: number; search: string };

const INVALID = 'cursor is not valid: pass back the next_cursor of a previous page';

export function searchFingerprint(search: string): string {
  return createHash('sha256').update(search).digest('base64url').slice(0, 12);
}

export function encodeCursor(cursor: HistoryCursor): string {
  const payload = cursor.kind === 'id' ? { k: 'id', id: cursor.id } : { k: 'rank', o: cursor.offset, m: cursor.maxId, s: cursor.search };
  return Buffer.from(JSON.stringify(payload)).toString('base64url');
}

const isCount = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0;

/** Also accepts a bare positive id, the cursor the original API's clients send. */
export function decodeCursor(token: string, field = 'cursor'): HistoryCursor {
  const invalid = () => new InvalidInputError(field === 'cursor' ? INVALID : INVALID.replace('cursor', field));
  if (/^[1-9][0-9]{0,15}$/.test(token)) {
    const id = Number(token);
    if (!Number.isSafeInteger(id)) throw invalid();
    return { kind: 'id', id };
  }
  if (!/^[A-Za-z0-9_-]{1,400}$/.test(token)) throw invalid();
  let payload: Record<string, unknown>;
  try {
    payload = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as Record<string, unknown>;
  } catch {
    throw invalid();
  }
  if (payload && payload.k === 'id' && isCount(payload.id) && payload.id > 0) return { kind: 'id', id: payload.id };
  if (payload && payload.k === 'rank' && isCount(payload.o) && isCount(payload.m) && typeof payload.s === 'string') {
    return { kind: 'rank', offset: payload.o, maxId: payload.m, search: payload.s };
  }
  throw invalid();
}
