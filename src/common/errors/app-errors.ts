/**
 * Errors that services throw. They carry no HTTP types: the one exception filter maps
 * them to status codes, and the CLI maps them to exit codes and readable lines.
 */
export interface AppErrorOptions {
  cause?: unknown;
  retryAfterSeconds?: number;
  retryable?: boolean;
  /** The request field the error is about (`tools.0.function.name`), for dialects that name it (OpenAI `param`). */
  param?: string;
  /** A stable machine-readable code (`context_length_exceeded`, `unsupported_field`), for dialects that carry one. */
  code?: string;
  /** The backend's own words (Ollama's `error`), for the dialect that hands them on as they are (Ollama's own API). */
  backendMessage?: string;
}

export abstract class AppError extends Error {
  /** The HTTP status the filter answers with. */
  abstract readonly status: number;
  /** Seconds a client should wait before retrying, sent as `Retry-After`. */
  readonly retryAfterSeconds?: number;
  /** A transient failure of a dependency: worth retrying (LLM calls retry only before the first token). */
  readonly retryable: boolean;
  readonly param?: string;
  readonly code?: string;
  readonly backendMessage?: string;

  constructor(message: string, options?: AppErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.retryAfterSeconds = options?.retryAfterSeconds;
    this.retryable = options?.retryable ?? false;
    this.param = options?.param;
    this.code = options?.code;
    this.backendMessage = options?.backendMessage;
  }
}

export class InvalidInputError extends AppError {
  readonly status = 400;
}

/**
 * A request field the model or the backend cannot honour (tools to a model without the `tools`
 * capability, `tool_choice: "required"` together with a `format`…): refused, never dropped.
 */
export class UnsupportedFieldError extends InvalidInputError {
  constructor(field: string, reason: string) {
    super(`${field}: ${reason}`, { param: field, code: 'unsupported_field' });
  }
}

/** The prompt cannot fit the model's context window (checked before it is sent). */
export class ContextLengthExceededError extends InvalidInputError {
  constructor(
    readonly promptTokens: number,
    readonly contextLength: number,
    message: string,
    /** The request field that holds the prompt: `messages` (chat) or `prompt` (a raw completion). */
    param = 'messages',
  ) {
    super(message, { param, code: 'context_length_exceeded' });
  }
}

export class NotFoundError extends AppError {
  readonly status = 404;
}

/** The caller's key may not do this (e.g. read another key's exchanges). */
export class ForbiddenError extends AppError {
  readonly status = 403;
}

/** The request clashes with what is stored (a name already taken). */
export class ConflictError extends AppError {
  readonly status = 409;
}

export class PayloadTooLargeError extends AppError {
  readonly status = 413;
}

/** The backend answered with an error of its own (a 5xx, a malformed stream, an error line). */
export class BackendError extends AppError {
  readonly status = 502;
}

/** The backend cannot be reached, is overloaded, or the circuit breaker is open. */
export class BackendUnavailableError extends AppError {
  readonly status = 503;
}

/** The circuit breaker refused the call without contacting the backend. */
export class BreakerOpenError extends BackendUnavailableError {}

/**
 * One model server could not be reached (refused, not resolved, no route): the request never
 * got there, so another target may take it at once.
 */
export class BackendUnreachableError extends BackendUnavailableError {}

/**
 * One model server said it is full (Ollama's 503 "server busy", a 429): it is up and did not
 * start on the request, so another target, or Vega's queue, may take it.
 */
export class BackendBusyError extends BackendUnavailableError {}

/**
 * Every model server for a model was full and Vega's queue for it could not take the request:
 * the queue was at `QUEUE_MAX_LENGTH` (`full`), or it waited `QUEUE_MAX_WAIT_SEC` (`timeout`).
 */
export class QueueRefusedError extends BackendUnavailableError {
  constructor(
    readonly reason: 'full' | 'timeout',
    message: string,
    retryAfterSeconds: number,
  ) {
    super(message, { retryAfterSeconds, code: reason === 'full' ? 'queue_full' : 'queue_timeout' });
  }
}

export type TimeoutKind = 'total' | 'first_token' | 'idle';

export class BackendTimeoutError extends AppError {
  readonly status = 504;
  constructor(
    readonly kind: TimeoutKind,
    message: string,
  ) {
    super(message, { retryable: false });
  }
}

/** The model does not exist on the backend; the message is the backend's own. */
export class ModelNotFoundError extends AppError {
  readonly status = 404;
}

/** The backend rejected the request itself (Ollama 400, e.g. an invalid option). */
export class BackendRejectedError extends AppError {
  readonly status = 400;
}

/** The client went away before the answer was complete (nginx's 499 "client closed request"). */
export class ClientClosedError extends AppError {
  readonly status = 499;
  constructor() {
    super('The client closed the request');
  }
}

/** An outbound fetch refused before any packet was sent: a private address (SSRF guard), a bad scheme. */
export class FetchRefusedError extends AppError {
  readonly status = 400;
}

/** A remote site or service (not the model backend) failed: unreachable, an error status, a body too large. */
export class UpstreamError extends AppError {
  readonly status = 502;
}

/** A remote site or service did not answer within the fetch timeout. */
export class UpstreamTimeoutError extends AppError {
  readonly status = 504;
}

/** The operator's configuration forbids this target (e.g. a host outside NET_SCAN_ALLOW). */
export class ForbiddenTargetError extends AppError {
  readonly status = 403;
}

/**
 * The database stayed locked by another connection (a backup tool, a second process) past the
 * busy timeout. Transient: the client should retry after `Retry-After`.
 */
export class DatabaseBusyError extends AppError {
  readonly status = 503;
  constructor(options?: AppErrorOptions) {
    super('the database is busy (locked by another connection); retry in a few seconds', { retryAfterSeconds: 5, retryable: true, ...options });
  }
}

/**
 * A database server (PostgreSQL) that cannot serve the statement now: down or unreachable, the
 * connection lost, every connection taken, the statement past `DB_STATEMENT_TIMEOUT_SEC`, or no
 * answer within `DB_QUERY_TIMEOUT_SEC` (a server that hangs).
 * Transient: the client should retry after `Retry-After`.
 */
export class DatabaseUnavailableError extends AppError {
  readonly status = 503;
  constructor(reason: string, options?: AppErrorOptions) {
    super(`the database is unavailable (${reason}); retry in a few seconds`, { retryAfterSeconds: 5, retryable: true, ...options });
  }
}

/** The database file is damaged (or is not a database). Only restoring a backup helps. */
export class DatabaseCorruptError extends AppError {
  readonly status = 503;
  constructor(readonly detail: string, options?: AppErrorOptions) {
    super(
      'database is corrupted: restore a backup (vega db backup writes them to <data dir>/backups/; stop Vega, copy the newest over the database file, start again; vega db check tells what is damaged)',
      options,
    );
  }
}

/** What this installation cannot do (a tool it needs is missing); the message names the way out. */
export class OperationUnavailableError extends AppError {
  readonly status = 501;
}
