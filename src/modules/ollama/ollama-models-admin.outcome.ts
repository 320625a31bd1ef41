import type { AuditOutcome } from '../../core/persistence/audit-log.repository';

/** The longest line (or non-NDJSON body) read for its `error` or `status`; progress lines are ~150 bytes. */
const MAX_WATCHED_BYTES = 64 * 1024;

/**
 * Watches the bytes Ollama sends back, as they are relayed, for what the audit log needs: the
 * last `status` of a progress stream, and an `{"error"}` (a line of a stream that failed after
 * it began, or the body of an error answer). Nothing is changed.
 */
export class OllamaAnswerWatcher {
  private pending = '';
  private overflow = false;
  private lastStatus: string | undefined;
  private error: string | undefined;
  private text: string | undefined;

  /** Reads `chunk`; true when it completes the line that ends a progress stream (`success` or an error). */
  push(chunk: Buffer): boolean {
    let text = chunk.toString('utf8');
    let ends = false;
    for (let newline = text.indexOf('\n'); newline >= 0; newline = text.indexOf('\n')) {
      ends = this.line(this.overflow ? '' : this.pending + text.slice(0, newline)) || ends;
      this.pending = '';
      this.overflow = false;
      text = text.slice(newline + 1);
    }
    if (this.overflow) return ends;
    this.pending += text;
    if (this.pending.length > MAX_WATCHED_BYTES) {
      this.pending = '';
      this.overflow = true;
    }
    return ends;
  }

  /** The outcome of an answer with `status` whose body was all watched. */
  outcome(status: number): { outcome: AuditOutcome; detail: string | undefined } {
    if (!this.overflow && this.pending.trim() !== '') this.line(this.pending);
    this.pending = '';
    if (status >= 400) return { outcome: 'error', detail: this.error ?? this.text ?? `HTTP ${status}` };
    if (this.error !== undefined) return { outcome: 'error', detail: this.error };
    return { outcome: 'ok', detail: this.lastStatus };
  }

  /** Whether the line ends a progress stream. */
  private line(text: string): boolean {
    if (text.trim() === '') return false;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      this.text ??= text.trim().slice(0, 200); // a plain-text error such as `404 page not found`
      return false;
    }
    if (value === null || typeof value !== 'object') return false;
    const { error, status } = value as { error?: unknown; status?: unknown };
    if (typeof error === 'string') this.error = error;
    if (typeof status === 'string') this.lastStatus = status;
    return typeof error === 'string' || status === 'success';
  }
}
