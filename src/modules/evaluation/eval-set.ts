import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { InvalidInputError } from '../../common/errors/app-errors';

export interface EvalItem {
  /** 1-based line in the eval file. */
  line: number;
  prompt: string;
  expected: string;
}

export interface SkippedLine {
  line: number;
  reason: string;
}

/** An eval file read: its usable items, the lines skipped with their reason, and its hash. */
export interface EvalSet {
  path: string;
  sha256: string;
  items: EvalItem[];
  skipped: SkippedLine[];
}

export const sha256 = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');

/**
 * Reads a JSON Lines eval file of `{prompt, expected}` objects. Blank lines are ignored; a bad
 * line is skipped with its line number and reason, never fatal. Other fields are allowed (a
 * dataset line may carry ids or tags). Throws `InvalidInputError` when the file cannot be read
 * or holds no usable item.
 */
export async function readEvalSet(file: string): Promise<EvalSet> {
  const path = resolve(file);
  let data: Buffer;
  try {
    data = await readFile(path);
  } catch (error) {
    throw new InvalidInputError(`cannot read the eval file ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  const set = parseEvalSet(data.toString('utf8'));
  if (set.items.length === 0) {
    const why = set.skipped.length > 0 ? `; ${set.skipped.length} line(s) skipped, first: line ${set.skipped[0].line}: ${set.skipped[0].reason}` : '';
    throw new InvalidInputError(`the eval file ${file} has no usable {prompt, expected} line${why}`);
  }
  return { path, sha256: sha256(data), ...set };
}

/** The items and skipped lines of an eval file's text (pure). */
export function parseEvalSet(text: string): Pick<EvalSet, 'items' | 'skipped'> {
  const items: EvalItem[] = [];
  const skipped: SkippedLine[] = [];
  text.replace(/^\uFEFF/, '').split(/\r?\n/).forEach((raw, index) => {
    const line = index + 1;
    if (raw.trim() === '') return;
    const parsed = parseLine(raw);
    if (typeof parsed === 'string') skipped.push({ line, reason: parsed });
    else items.push({ line, ...parsed });
  });
  return { items, skipped };
}

function parseLine(raw: string): { prompt: string; expected: string } | string {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (error) {
    return `invalid JSON (${(error as Error).message})`;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not a JSON object';
  const { prompt, expected } = value as { prompt?: unknown; expected?: unknown };
  if (typeof prompt !== 'string' || prompt.trim() === '') return 'prompt must be a non-empty string';
  if (typeof expected !== 'string' || expected.trim() === '') return 'expected must be a non-empty string';
  return { prompt, expected };
}
