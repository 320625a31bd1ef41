import { BackendTimeoutError, BreakerOpenError, ClientClosedError } from '../../common/errors/app-errors';
import type { BackendUsage } from './llm-backend';
import type { QueueExit } from './routing/fair-queue';

/** How one model call ended. */
export const LLM_OUTCOMES = ['ok', 'cached', 'error', 'aborted', 'timeout', 'breaker_open'] as const;
export type LlmOutcome = (typeof LLM_OUTCOMES)[number];

/**
 * Told by `LlmService` how each call ended (metrics implement it). Optional: without one
 * (the CLI), nothing is recorded. Times are `performance.now()` values; `firstTokenAt` is 0
 * when no token arrived; `usage` is given for complete answers from the backend; `target` names
 * the model server the call last went to (none when it reached none: cached, refused).
 */
export abstract class LlmObserver {
  abstract record(model: string, outcome: LlmOutcome, startedAt: number, firstTokenAt: number, usage?: BackendUsage, target?: string): void;
  /** The backend read far fewer prompt tokens than were sent: it cut the prompt to fit its context. */
  abstract contextTruncated(model: string): void;
  /** A request left Vega's queue for `model` after `waitedMs`: given a place, refused (full, waited too long), or its client left. */
  queueExit?(model: string, waitedMs: number, exit: QueueExit): void;
}

/** The outcome a failed call counts as. */
export function outcomeOf(error: unknown): LlmOutcome {
  if (error instanceof ClientClosedError) return 'aborted';
  if (error instanceof BackendTimeoutError) return 'timeout';
  if (error instanceof BreakerOpenError) return 'breaker_open';
  return 'error';
}
