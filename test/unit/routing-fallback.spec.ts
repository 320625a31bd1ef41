import {
  BackendBusyError,
  BackendError,
  BackendTimeoutError,
  BackendUnavailableError,
  BackendUnreachableError,
  BreakerOpenError,
  ModelNotFoundError,
  QueueRefusedError,
} from '../../src/common/errors/app-errors';
import { OllamaBackend } from '../../src/core/llm/backends/ollama/ollama.backend';
import { Deadline } from '../../src/core/llm/resilience/attempt';
import { fallbackChain, FallbackRoute, fallsBack } from '../../src/core/llm/routing/fallback';
import { Leg, Route } from '../../src/core/llm/routing/route';
import { Target } from '../../src/core/llm/routing/target';
import { TargetPool } from '../../src/core/llm/routing/target-pool';

// Routes only choose targets: no request is ever sent to these addresses.
const target = (name: string, models: string[]): Target =>
  new Target({ name, kind: 'ollama', url: 'http://127.0.0.1:9', weight: 1, maxConcurrency: 0, models }, new OllamaBackend('http://127.0.0.1:9'), {
    failThreshold: 1,
    resetMs: 600_000,
  });

/** Opens a target's breaker the way failures do: one failed call (the threshold is 1). */
function open(of: Target): void {
  of.breaker.acquire()!.failure();
}

/** An attempt that failed: its place and its breaker permit given back, as LlmService does. */
function giveBack(leg: Leg): void {
  leg.permit.release();
  leg.end();
}

function routeOver(pool: TargetPool, model: string, fallbacks: Record<string, string[]>, admits?: (model: string) => Promise<boolean>): FallbackRoute {
  const deadline = new Deadline(60_000, new AbortController().signal);
  return new FallbackRoute(fallbackChain(model, fallbacks), (each) => new Route(pool, each, deadline, { maxRetries: 0, backoffMs: () => 0 }), admits);
}

describe(fallbackChain.name, () => {
  it('is the model, then its fallbacks in order (never the model twice); the model alone without a chain', () => {
    expect(fallbackChain('big', { big: ['mid', 'big', 'small'] })).toEqual(['big', 'mid', 'small']);
    expect(fallbackChain('other', { big: ['small'] })).toEqual(['other']);
  });
});

describe(fallsBack.name, () => {
  it('is true for down, open, draining and missing; false for busy, timeouts and server errors', () => {
    expect(fallsBack(new BackendUnreachableError('refused'))).toBe(true);
    expect(fallsBack(new BreakerOpenError('open'))).toBe(true);
    expect(fallsBack(new BackendUnavailableError('draining'))).toBe(true);
    expect(fallsBack(new ModelNotFoundError("model 'x' not found"))).toBe(true);
    expect(fallsBack(new BackendBusyError('server busy'))).toBe(false);
    expect(fallsBack(new QueueRefusedError('full', 'queue full', 1))).toBe(false);
    expect(fallsBack(new BackendTimeoutError('first_token', 'slow'))).toBe(false);
    expect(fallsBack(new BackendError('boom'))).toBe(false);
    expect(fallsBack(new Error('anything else'))).toBe(false);
  });
});

describe(FallbackRoute.name, () => {
  it('starts on the requested model while one of its targets takes it', async () => {
    const a = target('a', ['big']);
    const route = routeOver(new TargetPool([a, target('b', ['small'])], 'priority'), 'big', { big: ['small'] });
    expect((await route.first()).target).toBe(a);
    expect(route.model).toBe('big');
    expect(route.fellBack).toBe(false);
  });

  it('starts on the fallback when every target of the model is draining or open', async () => {
    const [a1, a2, b] = [target('a1', ['big']), target('a2', ['big']), target('b', ['small'])];
    a1.draining = true;
    open(a2);
    const route = routeOver(new TargetPool([a1, a2, b], 'priority'), 'big', { big: ['small'] });
    expect((await route.first()).target).toBe(b);
    expect(route.model).toBe('small');
    expect(route.fellBack).toBe(true);
  });

  it('moves to the next model when the last target of the model is unreachable, and on down the chain', async () => {
    const [a, b, c] = [target('a', ['big']), target('b', ['mid']), target('c', ['small'])];
    const route = routeOver(new TargetPool([a, b, c], 'priority'), 'big', { big: ['mid', 'small'] });
    giveBack(await route.first());
    const second = await route.next(new BackendUnreachableError('a refused'));
    expect([second.target.name, route.model]).toEqual(['b', 'mid']);
    giveBack(second);
    const third = await route.next(new ModelNotFoundError("model 'mid' not found"));
    expect([third.target.name, route.model]).toEqual(['c', 'small']);
  });

  it('keeps a failure that another model would meet too: a timeout or a server error ends the call', async () => {
    const route = routeOver(new TargetPool([target('a', ['big']), target('b', ['small'])], 'priority'), 'big', { big: ['small'] });
    giveBack(await route.first());
    const timeout = new BackendTimeoutError('first_token', 'no first token in 30 s');
    await expect(route.next(timeout)).rejects.toBe(timeout);
    expect(route.model).toBe('big');
  });

  it('when the whole chain fails, throws the first "unavailable" failure rather than a model being unknown', async () => {
    const b = target('b', ['small']);
    open(b);
    // Nobody serves `big`; the fallback's only target is open.
    const route = routeOver(new TargetPool([target('a', ['other']), b], 'priority'), 'big', { big: ['small'] });
    await expect(route.first()).rejects.toThrow(BreakerOpenError);
  });

  it('skips a fallback it does not admit (asked only when the chain reaches it) and goes on to the next', async () => {
    const [a, b, c] = [target('a', ['big']), target('b', ['mid']), target('c', ['small'])];
    a.draining = true;
    const asked: string[] = [];
    const route = routeOver(new TargetPool([a, b, c], 'priority'), 'big', { big: ['mid', 'small'] }, async (model) => {
      asked.push(model);
      return model !== 'mid';
    });
    const leg = await route.first();
    expect([leg.target.name, route.model, asked]).toEqual(['c', 'small', ['mid', 'small']]);
  });

  it('when every fallback is skipped, throws why the requested model could not serve', async () => {
    const a = target('a', ['big']);
    a.draining = true;
    const route = routeOver(new TargetPool([a, target('b', ['small'])], 'priority'), 'big', { big: ['small'] }, async () => false);
    await expect(route.first()).rejects.toThrow("Every model server with 'big' is draining (a)");
  });

  it('throws the requested model’s 404 when no model of the chain is served anywhere', async () => {
    const route = routeOver(new TargetPool([target('a', ['other'])], 'priority'), 'big', { big: ['small'] });
    await expect(route.first()).rejects.toThrow('model "big" not found on any model server; available: other');
  });
});
