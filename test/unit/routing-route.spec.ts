import {
  BackendBusyError,
  BackendError,
  BackendRejectedError,
  BackendTimeoutError,
  BackendUnavailableError,
  BackendUnreachableError,
  BreakerOpenError,
  ModelNotFoundError,
  QueueRefusedError,
} from '../../src/common/errors/app-errors';
import { Deadline } from '../../src/core/llm/resilience/attempt';
import { Route } from '../../src/core/llm/routing/route';
import { TargetPool } from '../../src/core/llm/routing/target-pool';
import type { Target } from '../../src/core/llm/routing/target';
import { openBreaker, testTarget } from '../support/routing-targets';

const POLICY = { maxRetries: 1, backoffMs: () => 1 };

function routeOver(targets: Target[], model = 'mistral', policy = POLICY): Route {
  return new Route(new TargetPool(targets, 'priority'), model, new Deadline(10_000, new AbortController().signal), policy);
}

describe(Route.name, () => {
  describe('first', () => {
    it('is a 404 naming the model when no target serves it', async () => {
      const route = routeOver([testTarget('a', { models: ['llama3.2'] })]);
      await expect(route.first()).rejects.toThrow(new ModelNotFoundError('model "mistral" not found on any model server; available: llama3.2'));
    });

    it('says every target with the model is draining, by name', async () => {
      const [a, b] = [testTarget('a'), testTarget('b')];
      a.draining = b.draining = true;
      const route = routeOver([a, b]);
      await expect(route.first()).rejects.toThrow(BackendUnavailableError);
      await expect(route.first()).rejects.toThrow("Every model server with 'mistral' is draining (a, b)");
    });

    it('is the open breaker when every target for the model has one open', async () => {
      const a = testTarget('a');
      openBreaker(a);
      await expect(routeOver([a]).first()).rejects.toThrow(BreakerOpenError);
    });
  });

  describe('next', () => {
    it.each([
      ['unreachable', new BackendUnreachableError('connection refused', { retryable: true })],
      ['lacking the model', new ModelNotFoundError("model 'mistral' not found")],
    ])('moves a request its target did not start (%s) to another target at once, without counting a retry', async (_, failure) => {
      const targets = [testTarget('a'), testTarget('b'), testTarget('c')];
      const route = routeOver(targets, 'mistral', { maxRetries: 0, backoffMs: () => 60_000 });
      expect((await route.first()).target.name).toBe('a');
      expect((await route.next(failure)).target.name).toBe('b');
      expect((await route.next(failure)).target.name).toBe('c');
      await expect(route.next(failure)).rejects.toThrow(failure.message);
      await expect(route.next(failure)).rejects.toBeInstanceOf(failure.constructor);
    });

    it('moves a request whose first token did not come in time to a target not tried yet, and gives the timeout when none is left', async () => {
      const failure = new BackendTimeoutError('first_token', 'The model sent no token within 0.2 s');
      const route = routeOver([testTarget('a'), testTarget('b')], 'mistral', { maxRetries: 2, backoffMs: () => 1 });
      expect((await route.first()).target.name).toBe('a');
      expect((await route.next(failure)).target.name).toBe('b');
      await expect(route.next(failure)).rejects.toBe(failure);
    });

    it('moves a request a busy target did not start to the next at once, and when every one said busy, starts the round again after a pause', async () => {
      const failure = new BackendBusyError('server busy', { retryable: true });
      const route = routeOver([testTarget('a'), testTarget('b')], 'mistral', { maxRetries: 0, backoffMs: () => 1 });
      expect((await route.first()).target.name).toBe('a');
      expect((await route.next(failure)).target.name).toBe('b');
      expect((await route.next(failure)).target.name).toBe('a');
      expect((await route.next(failure)).target.name).toBe('b');
    });

    it('answers busy targets with QueueRefusedError once the queue’s max wait is over', async () => {
      const failure = new BackendBusyError('server busy', { retryable: true });
      const pool = new TargetPool([testTarget('a')], 'priority', { settings: { maxLength: 10, maxWaitMs: 30 } });
      const route = new Route(pool, 'mistral', new Deadline(10_000, new AbortController().signal), { maxRetries: 0, backoffMs: () => 10 });
      await route.first();
      let outcome: unknown;
      for (let round = 0; round < 10 && outcome === undefined; round += 1) {
        outcome = await route.next(failure).then(
          (leg) => void leg.end(),
          (error: unknown) => error,
        );
      }
      expect(outcome).toBeInstanceOf(QueueRefusedError);
      expect((outcome as QueueRefusedError).reason).toBe('timeout');
    });

    it('waits in the queue when the target not tried yet is full, and takes the place the first one frees', async () => {
      const [a, b] = [testTarget('a', { maxConcurrency: 1 }), testTarget('b', { maxConcurrency: 1 })];
      const pool = new TargetPool([a, b], 'priority');
      const busy = pool.queue.take(b, 'mistral');
      const route = new Route(pool, 'mistral', new Deadline(10_000, new AbortController().signal), POLICY);
      // a's place is still held (as by a request that came in meanwhile): both are full.
      const first = await route.first();
      const next = route.next(new BackendUnreachableError('refused', { retryable: true }));
      expect(pool.queue.length('mistral')).toBe(1);
      busy.end();
      const leg = await next;
      expect(leg.target).toBe(b);
      leg.end();
      first.end();
    });

    it('retries another failure after the backoff, on a target not tried yet', async () => {
      const route = routeOver([testTarget('a'), testTarget('b')]);
      await route.first();
      const leg = await route.next(new BackendError('model runner crashed', { retryable: true }));
      expect(leg.target.name).toBe('b');
    });

    it('starts the round again when every target was tried', async () => {
      const route = routeOver([testTarget('a')], 'mistral', { maxRetries: 2, backoffMs: () => 1 });
      await route.first();
      expect((await route.next(new BackendError('crashed', { retryable: true }))).target.name).toBe('a');
    });

    it('does not retry what is not retryable', async () => {
      const route = routeOver([testTarget('a'), testTarget('b')]);
      await route.first();
      const rejected = new BackendRejectedError('invalid option');
      await expect(route.next(rejected)).rejects.toBe(rejected);
    });

    it('names every unreachable target when none could be reached', async () => {
      const route = routeOver([testTarget('a'), testTarget('b')], 'mistral', { maxRetries: 0, backoffMs: () => 1 });
      await route.first();
      await route.next(new BackendUnreachableError('Ollama at http://a is unreachable', { retryable: true }));
      await expect(route.next(new BackendUnreachableError('Ollama at http://b is unreachable', { retryable: true }))).rejects.toThrow(
        'Ollama at http://a is unreachable Ollama at http://b is unreachable',
      );
    });
  });
});

describe('per-target timeouts', () => {
  const defaults = { timeoutMs: 120_000, firstTokenTimeoutMs: 60_000, idleTimeoutMs: 30_000 };

  it('are the target’s own where it has them, LLM_*_TIMEOUT_SEC otherwise', () => {
    expect(testTarget('slow', { timeouts: { totalMs: 600_000, firstTokenMs: 300_000 } }).limits(defaults)).toEqual({
      timeoutMs: 600_000,
      firstTokenTimeoutMs: 300_000,
      idleTimeoutMs: 30_000,
    });
    expect(testTarget('plain').limits(defaults)).toEqual(defaults);
  });

  it('move the whole request’s deadline, counted from its start', () => {
    const deadline = new Deadline(1_000, new AbortController().signal);
    const start = deadline.at - 1_000;
    deadline.limitTo(600_000);
    expect(deadline.at).toBeCloseTo(start + 600_000, 0);
    expect(deadline.expired().message).toBe('The model did not finish within 600 s');
  });
});
