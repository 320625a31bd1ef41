import { lstat, readdir, readFile } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { InvalidInputError } from '../../common/errors/app-errors';
import type { SkippedLine } from './eval-set';

export interface PromptCandidate {
  name: string;
  prompt: string;
  /** The file it came from (a directory's file, or the JSONL file with its line). */
  source: string;
}

export interface CandidateSet {
  candidates: PromptCandidate[];
  /** Entries not used, with why: `line` is 0 for a directory's file (named in `reason`). */
  skipped: SkippedLine[];
}

/**
 * Candidate system prompts: a directory (each regular, non-hidden file directly inside is
 * one prompt, named after the file without its extension, in file-name order) or a JSON
 * Lines file of `{name?, prompt}` (unnamed ones are `line-N`). Empty prompts and duplicate
 * names are skipped with a reason; no usable candidate is an `InvalidInputError`.
 */
export async function readCandidates(path: string): Promise<CandidateSet> {
  let isDirectory: boolean;
  try {
    isDirectory = (await lstat(path)).isDirectory();
  } catch (error) {
    throw new InvalidInputError(`cannot read the candidates ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  const set = isDirectory ? await fromDirectory(path) : fromJsonl(await readFile(path, 'utf8'), path);
  if (set.candidates.length === 0) {
    const first = set.skipped[0];
    throw new InvalidInputError(`no usable candidate prompt in ${path}${first ? ` (first problem: ${skipText(first)})` : ''}`);
  }
  return set;
}

export const skipText = (skip: SkippedLine): string => (skip.line > 0 ? `line ${skip.line}: ${skip.reason}` : skip.reason);

async function fromDirectory(dir: string): Promise<CandidateSet> {
  const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const set: CandidateSet = { candidates: [], skipped: [] };
  for (const entry of entries) {
    if (entry.name.startsWith('.')) continue;
    if (!entry.isFile()) {
      set.skipped.push({ line: 0, reason: `${entry.name}: not a regular file` });
      continue;
    }
    const prompt = (await readFile(join(dir, entry.name), 'utf8')).trim();
    add(set, basename(entry.name, extname(entry.name)), prompt, join(dir, entry.name), 0, entry.name);
  }
  return set;
}

/** Candidates from JSON Lines text (pure apart from naming `file` in sources). */
export function fromJsonl(text: string, file: string): CandidateSet {
  const set: CandidateSet = { candidates: [], skipped: [] };
  text.replace(/^\uFEFF/, '').split(/\r?\n/).forEach((raw, index) => {
    const line = index + 1;
    if (raw.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (error) {
      set.skipped.push({ line, reason: `invalid JSON (${(error as Error).message})` });
      return;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      set.skipped.push({ line, reason: 'not a JSON object' });
      return;
    }
    const { name, prompt } = value as { name?: unknown; prompt?: unknown };
    if (name !== undefined && (typeof name !== 'string' || name.trim() === '')) {
      set.skipped.push({ line, reason: 'name must be a non-empty string when given' });
      return;
    }
    if (typeof prompt !== 'string') {
      set.skipped.push({ line, reason: 'prompt must be a string' });
      return;
    }
    add(set, name?.trim() ?? `line-${line}`, prompt.trim(), `${file}:${line}`, line);
  });
  return set;
}

function add(set: CandidateSet, name: string, prompt: string, source: string, line: number, label = name): void {
  const where = line > 0 ? '' : `${label}: `;
  if (prompt === '') set.skipped.push({ line, reason: `${where}empty prompt` });
  else if (set.candidates.some((candidate) => candidate.name === name)) set.skipped.push({ line, reason: `${where}duplicate name "${name}"` });
  else set.candidates.push({ name, prompt, source });
}
