/**
 * What a key may do. `chat`: every model lane (`/chat`, `/v1/*`, `/api/*` chat, generate and
 * embed, `/v1/messages`, `/v1/responses`); `research`: search, research, OSINT and net scan;
 * `history:own`: its own exchanges only; `history:all`: everyone's; `admin`: the admin routes,
 * key management and model management.
 */
export const SCOPES = ['chat', 'research', 'history:own', 'history:all', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

/**
 * A key's own limits and budgets. A number is the limit (0: none); an absent field takes the
 * configured default. Tokens are prompt plus completion tokens.
 */
export interface KeyLimits {
  requestsPerMinute?: number;
  tokensPerMinute?: number;
  concurrentStreams?: number;
  tokensPerDay?: number;
  tokensPerMonth?: number;
  /** The backend's time spent generating for the key, per UTC day: the cost unit of a local GPU. */
  modelSecondsPerDay?: number;
}

/**
 * Who is calling: the key a request was accepted with, as guards, throttling, limits, storage
 * and logs see it (never the secret). `bootstrap` keys come from the environment (`API_KEY`,
 * `API_KEYS_EXTRA`) and hold every scope; `managed` keys live in the database.
 */
export interface Principal {
  /** `primary`, `extra-1`… for bootstrap keys; the key's own id for managed keys. */
  keyId: string;
  name: string;
  kind: 'bootstrap' | 'managed';
  scopes: ReadonlySet<Scope>;
  /** The models the key may use; null: every model. */
  models: readonly string[] | null;
  limits: KeyLimits;
}

/**
 * Whether the principal may learn the model servers' (targets') names: they are infrastructure,
 * for admin keys and the CLI (no principal) only; other keys learn the model that served them.
 */
export function seesTargets(principal: Principal | undefined): boolean {
  return principal === undefined || principal.scopes.has('admin');
}

/** Whether the principal may read every key's exchanges (else only its own). */
export function seesAllHistory(principal: Principal | undefined): boolean {
  return principal === undefined || principal.scopes.has('history:all');
}

/**
 * The key whose exchanges alone the principal may read or change; undefined: every key's (a
 * `history:all` key, or no principal at all: the CLI reads the database as its owner).
 */
export function historyOwner(principal: Principal | undefined): string | undefined {
  return seesAllHistory(principal) ? undefined : principal!.keyId;
}
