import { SlidingWindowThrottlerStorage } from '../../src/common/throttling/sliding-window.storage';

describe('SlidingWindowThrottlerStorage', () => {
  const TTL = 60_000;
  let now: number;
  let storage: SlidingWindowThrottlerStorage;

  beforeEach(() => {
    now = 1_000_000_000; // on a slot boundary (slots are 1 s for a 60 s window)
    storage = new SlidingWindowThrottlerStorage(() => now);
  });
  afterEach(() => storage.onModuleDestroy());

  it('admits up to the limit, then refuses until the oldest hit leaves the window', () => {
    for (let i = 1; i <= 3; i += 1) {
      expect(storage.hit('k', TTL, 3)).toMatchObject({ isBlocked: false, totalHits: i, timeToBlockExpire: 0 });
      now += 10_000;
    }
    // Hits at 0 s, 10 s and 20 s; now is 30 s: the first leaves the window at 60 s.
    const refused = storage.hit('k', TTL, 3);
    expect(refused).toMatchObject({ isBlocked: true, totalHits: 4, timeToBlockExpire: 30, timeToExpire: 30 });
    now += 29_999;
    expect(storage.hit('k', TTL, 3).isBlocked).toBe(true);
    now += 1;
    expect(storage.hit('k', TTL, 3).isBlocked).toBe(false);
  });

  it('never asks a client to wait longer than the window', () => {
    for (let i = 0; i < 5; i += 1) storage.hit('k', TTL, 5);
    expect(storage.hit('k', TTL, 5).timeToBlockExpire).toBe(60);
  });

  it('does not count refused requests', () => {
    storage.hit('k', TTL, 1);
    for (let i = 0; i < 10; i += 1) {
      now += 5_000;
      expect(storage.hit('k', TTL, 1).isBlocked).toBe(true);
    }
    now += 10_000; // 60 s after the only admitted hit
    expect(storage.hit('k', TTL, 1).isBlocked).toBe(false);
  });

  it('waits only as long as needed to make room for one more', () => {
    for (let i = 0; i < 4; i += 1) {
      storage.hit('k', TTL, 4); // 0 s, 15 s, 30 s, 45 s
      now += 15_000;
    }
    now -= 5_000; // 55 s: making room for one more needs the 0 s hit to expire, at 60 s
    expect(storage.hit('k', TTL, 4).timeToBlockExpire).toBe(5);
    expect(storage.hit('k', TTL, 2).timeToBlockExpire).toBe(35); // three must go: the 30 s one leaves at 90 s
  });

  it('keeps keys apart and forgets quiet ones', async () => {
    storage.hit('a', TTL, 1);
    expect(storage.hit('b', TTL, 1).isBlocked).toBe(false);
    expect(storage.size).toBe(2);
    now += TTL;
    storage.sweep();
    expect(storage.size).toBe(0);
    await expect(storage.increment('a', TTL, 1)).resolves.toMatchObject({ isBlocked: false, totalHits: 1 });
  });

  it('peeks without counting', () => {
    expect(storage.peek('k', TTL, 1)).toMatchObject({ isBlocked: false, timeToBlockExpire: 0 });
    expect(storage.size).toBe(0);
    storage.hit('k', TTL, 2);
    now += 10_000;
    for (let i = 0; i < 5; i += 1) expect(storage.peek('k', TTL, 2)).toMatchObject({ isBlocked: false, totalHits: 2 });
    storage.hit('k', TTL, 2);
    expect(storage.peek('k', TTL, 2)).toMatchObject({ isBlocked: true, totalHits: 3, timeToBlockExpire: 50 });
    now += 50_000;
    expect(storage.peek('k', TTL, 2).isBlocked).toBe(false);
  });

  it('starts from zero after a long silence', () => {
    storage.hit('k', TTL, 1);
    now += 5 * TTL;
    expect(storage.hit('k', TTL, 1).isBlocked).toBe(false);
  });
});
