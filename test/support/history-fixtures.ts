import type { SeedRow } from './seed';

/**
 * A key's spending (`KeyUsageSource.spent`): rows as [ts (UTC), key, status, prompt tokens,
 * completion tokens, model ms] around the month's and the day's start, and what `k` spent.
 */
export const KEY_USAGE_FIXTURE = {
  rows: [
    ['2026-11-30 23:59:59.999', 'k', 'ok', 1000, 1000, 9000], // last month
    ['2026-12-01 00:00:00.000', 'k', 'ok', 10, 20, 300], // this month, not today
    ['2026-12-05 23:59:59.999', 'k', 'error', 1, null, 50],
    ['2026-12-06 00:00:00.000', 'k', 'ok', 100, 200, 1500], // today
    ['2026-12-06 08:00:00.000', 'k', 'aborted', null, null, 700],
    ['2026-12-06 09:00:00.000', 'k', 'cached', 100, 200, 0], // from the cache: free
    ['2026-12-06 09:00:00.000', 'other', 'ok', 5000, 5000, 5000],
    ['2026-12-06 09:00:00.000', null, 'ok', 5000, 5000, 5000],
  ] as [string, string | null, string, number | null, number | null, number | null][],
  dayStart: new Date('2026-12-06T00:00:00.000Z'),
  monthStart: new Date('2026-12-01T00:00:00.000Z'),
  spent: { day: { tokens: 300, modelMs: 2200 }, month: { tokens: 331, modelMs: 2550 } },
};

/**
 * Stored exchanges for the search cases, shared by the HTTP tests (history.e2e-spec.ts, seeded
 * into the SQLite file) and the read side's contract on both dialects (history-contract.ts).
 */
export const SEARCH_FIXTURES = {
  /** A prompt match (2) and a response match (1). */
  promptAboveResponse: [
    { prompt: 'tell me about the weather', response: 'the circuit breaker pattern stops calls to a failing service' },
    { prompt: 'what is a circuit breaker?', response: 'it trips after failures' },
    { prompt: 'unrelated', response: 'nothing to see' },
  ],
  /** "circuit breaker" in answered (1 ok, 4 cached) and failed (2 error, 3 aborted) exchanges. */
  answeredFirst: [
    { prompt: 'how does a circuit breaker work in a service mesh?', response: 'A circuit breaker stops calling a failing upstream for a while, then lets a trial call through.' },
    { prompt: 'how does a circuit breaker work?', response: '', status: 'error' },
    { prompt: 'circuit breaker', response: 'A circu', status: 'aborted' },
    { prompt: 'explain the circuit breaker pattern with an example from payments', response: 'It opens after repeated failures.', status: 'cached' },
    { prompt: 'unrelated', response: 'nothing' },
  ],
  /** "needle" with more hay each time, answered and failed mixed; then two more stored after the first page. */
  needles: [
    { prompt: 'needle', response: '', status: 'error' },
    { prompt: 'needle hay', response: 'x' },
    { prompt: 'needle', response: 'x' },
    { prompt: 'needle hay hay', response: '', status: 'aborted' },
    { prompt: 'needle hay hay hay', response: 'x', status: 'cached' },
  ],
  needlesLater: [
    { prompt: 'needle', response: 'x' },
    { prompt: 'needle', response: '', status: 'error' },
  ],
  markup: [{ prompt: '<script>alert(1)</script> token', response: 'x' }],
  operators: [
    { prompt: 'cats and dogs or birds', response: 'x' },
    { prompt: 'NEAR the column: value', response: 'x' },
  ],
  withFilters: [
    { prompt: 'deploy the service', response: 'x', session_id: 'a', rating: 5 },
    { prompt: 'deploy again', response: 'x', session_id: 'b', rating: 1 },
  ],
} satisfies Record<string, SeedRow[]>;
