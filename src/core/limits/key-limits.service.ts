import { Injectable, Logger } from '@nestjs/common';
import { AppConfig } from '../../config/app-config';
import { CallerContext } from '../../common/auth/caller-context';
import type { Principal } from '../../common/auth/principal';
import { BudgetExceededError, KeyLimitError, ModelNotAllowedError } from '../../common/errors/limit-errors';
import { CounterFamily, CounterSeries } from '../metrics/metric-families';
import { modelTimeMs } from '../persistence/stored-exchange';
import type { LlmEvent } from '../llm/llm.service';
import { listsModel } from '../llm/model-availability';
import { anyLimit, EffectiveLimits, KEY_LIMITS, KeyLimitName, Usage, UsageLease, UsageLimiter, UsageRefusal } from './usage-limiter';

/** What the refusals metric calls a model outside the key's allow-list. */
const MODEL_REFUSAL = 'model';

const UNITS: Record<KeyLimitName, string> = {
  concurrent_streams: 'concurrent streams',
  tokens_per_minute: 'tokens per minute',
  tokens_per_day: 'tokens per day',
  tokens_per_month: 'tokens per month',
  model_seconds_per_day: 'model-seconds per day',
};

/**
 * One admitted call of a key: settled once with what it used (the backend's time when it said,
 * else the time the call took, as the stored exchange counts it), or released when it did no work.
 */
export class KeyLease {
  private readonly startedAt = performance.now();
  private ended = false;
  private chunks = 0;

  constructor(
    private readonly limiter: UsageLimiter,
    private readonly lease: UsageLease,
    /** The prompt's share of the reservation: what an answer cut short is charged besides its chunks. */
    readonly promptEstimate: number,
    private readonly logger: Logger,
  ) {}

  /**
   * Follows a stream's events: at `done` the call is settled with the backend's counts (an
   * answer from the cache is released: it cost nothing); chunks before it are counted for `end`.
   */
  observe(event: LlmEvent): void {
    if (event.type !== 'done') this.chunks += 1;
    else if (event.cached) this.release();
    else this.settle({ tokens: event.usage.promptTokens + event.usage.completionTokens, modelMs: modelTimeMs(event.timings) });
  }

  /**
   * The call is over: one that did not settle (failed, cut short, its client gone) is charged
   * its prompt estimate plus one token per chunk that came (nothing when none came) and the
   * time it took, as its stored exchange counts it.
   */
  end(): void {
    this.settle({ tokens: this.chunks > 0 ? this.promptEstimate + this.chunks : 0 });
  }

  settle(used: { tokens: number; modelMs?: number }): void {
    if (this.ended) return;
    this.ended = true;
    const usage: Usage = { tokens: used.tokens, modelMs: used.modelMs ?? Math.round(performance.now() - this.startedAt) };
    void this.limiter.settle(this.lease, usage).catch((error: unknown) => this.logger.error(`settling a key's usage failed: ${String(error)}`));
  }

  release(): void {
    if (this.ended) return;
    this.ended = true;
    void this.limiter.release(this.lease).catch((error: unknown) => this.logger.error(`releasing a key's usage failed: ${String(error)}`));
  }
}

/**
 * Enforces each key's model allow-list, limits and budgets on every model call. `LlmService`
 * asks it before each chat, completion and embedding, for the key of the request being served
 * (`CallerContext`); a call without one (the CLI) or of a key without limits passes untouched.
 */
@Injectable()
export class KeyLimitsService {
  readonly refusals = new CounterFamily(
    'vega_key_limit_refusals_total',
    'Model calls refused by a key\'s limits, by limit (model: outside the key\'s allow-list; concurrent_streams, tokens_per_minute, tokens_per_day, tokens_per_month, model_seconds_per_day).',
    ['limit'],
  );
  private readonly refusalSeries: Record<string, CounterSeries> = {};
  private readonly logger = new Logger(KeyLimitsService.name);

  constructor(
    private readonly config: AppConfig,
    private readonly caller: CallerContext,
    private readonly limiter: UsageLimiter,
  ) {
    for (const limit of [MODEL_REFUSAL, ...KEY_LIMITS]) this.refusalSeries[limit] = this.refusals.with(limit);
  }

  /** A key's limits in force: its own, else the configured default; 0 is none. */
  effectiveLimits(principal: Principal): EffectiveLimits {
    const own = principal.limits;
    const defaults = this.config.keyLimits;
    return {
      concurrentStreams: own.concurrentStreams ?? defaults.concurrentStreams,
      tokensPerMinute: own.tokensPerMinute ?? defaults.tokensPerMinute,
      tokensPerDay: own.tokensPerDay ?? defaults.tokensPerDay,
      tokensPerMonth: own.tokensPerMonth ?? defaults.tokensPerMonth,
      modelSecondsPerDay: own.modelSecondsPerDay ?? defaults.modelSecondsPerDay,
    };
  }

  /**
   * Refuses now what `admit` would refuse, taking nothing: for a lane that sends its stream's
   * headers before the first event (`/chat`), so a refusal keeps its HTTP status there too.
   */
  async check(model: string, tokens: number): Promise<void> {
    const principal = this.caller.current();
    if (!principal) return;
    this.assertModel(principal, model);
    const limits = this.effectiveLimits(principal);
    if (!anyLimit(limits)) return;
    const refusal = await this.limiter.check({ keyId: principal.keyId, limits, tokens });
    if (refusal) throw this.refused(refusal);
  }

  /** Admits a call of `tokens` (estimated) for the calling key, or throws the refusal; undefined: nothing to meter. */
  async admit(model: string, promptTokens: number, answerTokens: number): Promise<KeyLease | undefined> {
    const principal = this.caller.current();
    if (!principal) return undefined;
    this.assertModel(principal, model);
    const limits = this.effectiveLimits(principal);
    if (!anyLimit(limits)) return undefined;
    const admission = await this.limiter.admit({ keyId: principal.keyId, limits, tokens: promptTokens + answerTokens });
    if ('refusal' in admission) throw this.refused(admission.refusal);
    return new KeyLease(this.limiter, admission.lease, promptTokens, this.logger);
  }

  private assertModel(principal: Principal, model: string): void {
    if (principal.models === null || listsModel(principal.models, model)) return;
    this.refusalSeries[MODEL_REFUSAL]!.inc();
    throw new ModelNotAllowedError(model, principal.models);
  }

  private refused(refusal: UsageRefusal): Error {
    this.refusalSeries[refusal.limit]!.inc();
    const { limit, value, used, retryAfterMs, resetAt } = refusal;
    const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
    const named = `${value} ${UNITS[limit]} (${limit})`;
    if (resetAt) {
      return new BudgetExceededError(`This API key has used its budget of ${named}: ${used} used; it resets at ${resetAt.toISOString()}`, resetAt, seconds);
    }
    if (limit === 'concurrent_streams') {
      return new KeyLimitError(`This API key is at its limit of ${named}: retry when one of its calls ends`, seconds);
    }
    return new KeyLimitError(`This API key is over its limit of ${named}: ${used} used in the last minute; retry in ${seconds} s`, seconds);
  }
}
