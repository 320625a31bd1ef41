/**
 * Watches answer text for stop sequences as it streams. Ollama applies `stop` itself but hides
 * which sequence ended the answer (it reports `stop`, as for the model's own end), and a dialect
 * that must say which one did (Anthropic's `stop_reason: "stop_sequence"` with the sequence)
 * cannot learn it from the backend: the chat then watches for them instead of the backend.
 * Text that could be the start of a sequence is held back until the next piece tells.
 */
export class StopSequenceWatch {
  private held = '';

  constructor(private readonly sequences: readonly string[]) {}

  /** The text safe to hand on now, and the sequence when one was hit (the text then ends before it). */
  push(text: string): { text: string; hit?: string } {
    const buffer = this.held + text;
    // The sequence the model finished writing first, as a generation checked token by token would
    // have stopped at it (of two ending together, the one that began first).
    let first: { at: number; end: number; sequence: string } | undefined;
    for (const sequence of this.sequences) {
      const at = buffer.indexOf(sequence);
      const end = at + sequence.length;
      if (at !== -1 && (first === undefined || end < first.end || (end === first.end && at < first.at))) first = { at, end, sequence };
    }
    if (first) {
      this.held = '';
      return { text: buffer.slice(0, first.at), hit: first.sequence };
    }
    const keep = this.partialTail(buffer);
    this.held = buffer.slice(buffer.length - keep);
    return { text: buffer.slice(0, buffer.length - keep) };
  }

  /** What was held back: the answer ended without completing a sequence. */
  flush(): string {
    const rest = this.held;
    this.held = '';
    return rest;
  }

  /** The length of the longest end of `buffer` that begins some sequence. */
  private partialTail(buffer: string): number {
    let longest = 0;
    for (const sequence of this.sequences) {
      for (let length = Math.min(sequence.length - 1, buffer.length); length > longest; length -= 1) {
        if (buffer.endsWith(sequence.slice(0, length))) {
          longest = length;
          break;
        }
      }
    }
    return longest;
  }
}
