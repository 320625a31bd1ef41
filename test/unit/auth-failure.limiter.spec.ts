import { Logger, type LoggerService } from '@nestjs/common';
import { AuthFailureLimiter } from '../../src/common/throttling/auth-failure.limiter';
import { SlidingWindowThrottlerStorage } from '../../src/common/throttling/sliding-window.storage';
import { loadConfig } from '../../src/config/app-config';

describe(AuthFailureLimiter.name, () => {
  let now: number;
  let storage: SlidingWindowThrottlerStorage;
  let warnings: string[];

  const limiter = (limit: string, windowSec = '60') =>
    new AuthFailureLimiter(loadConfig({ API_KEY: 'unit-key-0123456789abcdef', AUTH_FAILURE_LIMIT: limit, AUTH_FAILURE_WINDOW_SEC: windowSec }), storage);

  beforeEach(() => {
    now = 1_000_000_000;
    storage = new SlidingWindowThrottlerStorage(() => now);
    warnings = [];
    const collector: LoggerService = { log: () => undefined, error: () => undefined, warn: (message: string) => warnings.push(message) };
    Logger.overrideLogger(collector);
  });
  afterEach(() => storage.onModuleDestroy());

  it('refuses an address once it used up its failures, until they leave the window', async () => {
    const failures = limiter('3');
    for (let i = 0; i < 3; i += 1) {
      expect(await failures.waitFor('203.0.113.7')).toBe(0);
      await failures.recordFailure('203.0.113.7');
      now += 1_000;
    }
    // Failures at 0, 1 and 2 s; now is 3 s: the first leaves the window at 60 s.
    expect(await failures.waitFor('203.0.113.7')).toBe(57);
    expect(await failures.waitFor('203.0.113.8')).toBe(0);
    now += 57_000;
    expect(await failures.waitFor('203.0.113.7')).toBe(0);
  });

  it('counts an IPv6 client by its /64', async () => {
    const failures = limiter('2');
    await failures.recordFailure('2001:db8:1:2::1');
    await failures.recordFailure('2001:db8:1:2:ffff::9');
    expect(await failures.waitFor('2001:db8:1:2::77')).toBeGreaterThan(0);
    expect(await failures.waitFor('2001:db8:1:3::1')).toBe(0);
  });

  it('logs an address at most once per window, even when a guesser paces itself to the limit', async () => {
    const failures = limiter('2');
    await failures.recordFailure('203.0.113.7');
    expect(warnings).toEqual([]);
    now += 30_000;
    await failures.recordFailure('203.0.113.7');
    expect(warnings).toEqual(['Too many failed API-key attempts from 203.0.113.7 (2 within 60 s): its requests are refused for 30 s']);
    // One try whenever the oldest failure has left the window (at 60, 90, 120 s): each uses the budget up again.
    for (let i = 0; i < 3; i += 1) {
      now += 30_000;
      expect(await failures.waitFor('203.0.113.7')).toBe(0);
      await failures.recordFailure('203.0.113.7');
      expect(await failures.waitFor('203.0.113.7')).toBe(30);
    }
    expect(warnings).toHaveLength(2); // the second at 90 s, a window after the first
    await failures.recordFailure('198.51.100.1');
    await failures.recordFailure('198.51.100.1');
    expect(warnings).toHaveLength(3);
    expect(warnings[2]).toContain('198.51.100.1');
  });

  it('does nothing with AUTH_FAILURE_LIMIT=0', async () => {
    const failures = limiter('0');
    for (let i = 0; i < 100; i += 1) await failures.recordFailure('203.0.113.7');
    expect(await failures.waitFor('203.0.113.7')).toBe(0);
    expect(storage.size).toBe(0);
    expect(warnings).toEqual([]);
  });
});
