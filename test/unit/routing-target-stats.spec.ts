import { OllamaBackend } from '../../src/core/llm/backends/ollama/ollama.backend';
import { Target } from '../../src/core/llm/routing/target';
import { TargetStats } from '../../src/core/llm/routing/target-stats';

describe(TargetStats.name, () => {
  it('has no median before the first success; then the median of what it saw', () => {
    const stats = new TargetStats();
    expect(stats.p50Ms()).toBeNull();
    for (const ms of [30, 10, 20]) stats.success(ms);
    expect(stats.p50Ms()).toBe(20);
    stats.success(40);
    expect(stats.p50Ms()).toBe(25);
    stats.failure();
    expect({ succeeded: stats.succeeded, failed: stats.failed }).toEqual({ succeeded: 4, failed: 1 });
  });

  it('takes the median over the last 256 successes only: an old slow spell does not hide that it is fast now', () => {
    const stats = new TargetStats();
    for (let i = 0; i < 300; i += 1) stats.success(5_000);
    for (let i = 0; i < 256; i += 1) stats.success(100);
    expect(stats.p50Ms()).toBe(100);
    expect(stats.succeeded).toBe(556);
  });
});

describe(Target.name, () => {
  const target = () =>
    new Target(
      { name: 'gpu-1', kind: 'ollama', url: 'http://127.0.0.1:9', weight: 1, maxConcurrency: 0 },
      new OllamaBackend('http://127.0.0.1:9', { maxConnections: 1, maxLineBytes: 1 << 20 }),
      { failThreshold: 2, resetMs: 60_000 },
    );

  describe('acquire', () => {
    it('records each permit once in its stats, as its breaker counts it once', () => {
      const gpu = target();
      const ok = gpu.acquire()!;
      ok.success();
      ok.success();
      ok.failure();
      const failed = gpu.acquire()!;
      failed.failure();
      failed.failure();
      gpu.acquire()!.release();
      expect({ succeeded: gpu.stats.succeeded, failed: gpu.stats.failed, breakerFailures: gpu.breaker.failures }).toEqual({
        succeeded: 1,
        failed: 1,
        breakerFailures: 1,
      });
      expect(gpu.stats.p50Ms()).toEqual(expect.any(Number));
    });

    it('is refused (null) while its breaker is open, and counts nothing then', () => {
      const gpu = target();
      gpu.acquire()!.failure();
      gpu.acquire()!.failure();
      expect(gpu.breaker.state).toBe('open');
      expect(gpu.acquire()).toBeNull();
      expect(gpu.stats.failed).toBe(2);
    });
  });
});
