import { CircuitBreaker } from '../../src/core/llm/resilience/circuit-breaker';

describe(CircuitBreaker.name, () => {
  let now = 0;
  const make = (failThreshold = 3, resetMs = 1000) => new CircuitBreaker({ failThreshold, resetMs, now: () => now });

  beforeEach(() => {
    now = 1_000_000;
  });

  const fail = (breaker: CircuitBreaker, times: number) => {
    for (let i = 0; i < times; i += 1) breaker.acquire()!.failure();
  };

  it('starts closed and lets calls through', () => {
    const breaker = make();
    expect(breaker.state).toBe('closed');
    expect(breaker.acquire()).not.toBeNull();
    expect(breaker.wouldRefuse()).toBe(false);
    expect(breaker.retryAfterMs()).toBe(0);
  });

  it('opens after the threshold of consecutive failures and refuses calls', () => {
    const breaker = make(3);
    fail(breaker, 2);
    expect(breaker.state).toBe('closed');
    fail(breaker, 1);
    expect(breaker.state).toBe('open');
    expect(breaker.acquire()).toBeNull();
    expect(breaker.wouldRefuse()).toBe(true);
    expect(breaker.retryAfterMs()).toBe(1000);
    now += 400;
    expect(breaker.retryAfterMs()).toBe(600);
  });

  it('counts only consecutive failures: a success resets the count', () => {
    const breaker = make(3);
    fail(breaker, 2);
    breaker.acquire()!.success();
    fail(breaker, 2);
    expect(breaker.state).toBe('closed');
    expect(breaker.failures).toBe(2);
  });

  it('becomes half-open after the reset time and lets exactly one probe through', () => {
    const breaker = make(1, 1000);
    fail(breaker, 1);
    now += 1000;
    expect(breaker.state).toBe('half_open');
    expect(breaker.wouldRefuse()).toBe(false);
    const probe = breaker.acquire();
    expect(probe?.probe).toBe(true);
    expect(breaker.acquire()).toBeNull();
    expect(breaker.wouldRefuse()).toBe(true);
    probe!.success();
    expect(breaker.state).toBe('closed');
    expect(breaker.acquire()?.probe).toBe(false);
  });

  it('reopens for another reset period when the probe fails', () => {
    const breaker = make(1, 1000);
    fail(breaker, 1);
    now += 1500;
    breaker.acquire()!.failure();
    expect(breaker.state).toBe('open');
    expect(breaker.retryAfterMs()).toBe(1000);
    now += 999;
    expect(breaker.acquire()).toBeNull();
    now += 1;
    expect(breaker.acquire()?.probe).toBe(true);
  });

  it('frees the probe slot when the probe ends without an outcome', () => {
    const breaker = make(1, 1000);
    fail(breaker, 1);
    now += 1000;
    breaker.acquire()!.release();
    expect(breaker.state).toBe('half_open');
    expect(breaker.acquire()?.probe).toBe(true);
  });

  it('ignores a second outcome reported on the same permit', () => {
    const breaker = make(2);
    const permit = breaker.acquire()!;
    permit.failure();
    permit.failure();
    expect(breaker.failures).toBe(1);
  });

  it('does not let late failures of calls started while closed extend an open period', () => {
    const breaker = make(1, 1000);
    const late = breaker.acquire()!;
    fail(breaker, 1);
    now += 500;
    late.failure();
    expect(breaker.retryAfterMs()).toBe(500);
  });

  it('reset() closes it and notifies listeners of each change', () => {
    const breaker = make(1);
    const seen: string[] = [];
    breaker.onStateChange((state) => seen.push(state));
    fail(breaker, 1);
    breaker.reset();
    expect(breaker.state).toBe('closed');
    expect(seen).toEqual(['open', 'closed']);
  });
});
