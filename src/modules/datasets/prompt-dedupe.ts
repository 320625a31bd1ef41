import { createHash } from 'node:crypto';

const PUNCTUATION = /\p{P}+/gu;
const WHITESPACE = /\s+/gu;

/**
 * The form two prompts are compared in: Unicode NFKC (full-width and ligature forms fold to
 * their plain letters), lower-cased, punctuation removed (`\p{P}`: "don't" and "dont" meet;
 * symbols such as `+` or `$` are kept, they change the question), whitespace runs collapsed to
 * one space and trimmed. "What is WAL?" and "  what is wal " are the same prompt.
 */
export function normalisePrompt(text: string): string {
  return text.normalize('NFKC').toLowerCase().replace(PUNCTUATION, '').replace(WHITESPACE, ' ').trim();
}

/**
 * Remembers which prompts were already kept, by a 128-bit hash of their normalised text (not
 * the text), so memory grows with the number of distinct prompts, about 80 bytes each,
 * whatever their length.
 */
export class PromptDeduper {
  private readonly seen = new Set<string>();

  /** True the first time a prompt (in normalised form) is offered, false for every repeat. */
  firstSeen(prompt: string): boolean {
    const key = createHash('sha256').update(normalisePrompt(prompt)).digest('base64').slice(0, 22);
    if (this.seen.has(key)) return false;
    this.seen.add(key);
    return true;
  }

  get size(): number {
    return this.seen.size;
  }
}
