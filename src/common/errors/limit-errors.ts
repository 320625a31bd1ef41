import { AppError } from './app-errors';

/**
 * A call the calling key may not make (its allow-list, limits or budgets): refused before the
 * backend is asked, like a bad request, so no exchange is stored for it.
 */
export abstract class KeyRefusal extends AppError {}

/** The key's model allow-list does not hold the model asked for. */
export class ModelNotAllowedError extends KeyRefusal {
  readonly status = 403;
  constructor(model: string, allowed: readonly string[]) {
    super(
      `This API key may not use the model ${model}; its models are: ${allowed.length > 0 ? allowed.join(', ') : 'none'}`,
      { param: 'model', code: 'model_not_allowed' },
    );
  }
}

/** A limit of the key (concurrent streams, tokens per minute) is reached: retry after `Retry-After`. */
export class KeyLimitError extends KeyRefusal {
  readonly status = 429;
  constructor(message: string, retryAfterSeconds: number) {
    super(message, { retryAfterSeconds, code: 'rate_limit_exceeded' });
  }
}

/** A budget of the key (tokens per day or month, model-seconds per day) is used up until `resetAt`. */
export class BudgetExceededError extends KeyRefusal {
  readonly status = 429;
  constructor(
    message: string,
    readonly resetAt: Date,
    retryAfterSeconds: number,
  ) {
    super(message, { retryAfterSeconds, code: 'budget_exceeded' });
  }
}

/**
 * The key has a budget and the shared store that keeps budgets (Redis) cannot be reached, with
 * `BUDGETS_WHEN_REDIS_DOWN=closed`: refused until it is back, rather than spent unchecked.
 */
export class BudgetUnavailableError extends KeyRefusal {
  readonly status = 503;
  constructor(retryAfterSeconds = 1) {
    super("This API key's budgets cannot be checked right now (the shared store is unreachable); retry shortly", {
      retryAfterSeconds,
      code: 'budget_unavailable',
    });
  }
}
