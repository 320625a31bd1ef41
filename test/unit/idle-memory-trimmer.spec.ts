import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { getHeapStatistics } from 'node:v8';
import { IdleMemoryTrimmer, TRIM_MIN_GROWTH_BYTES } from '../../src/app/idle-memory-trimmer';
import { loadConfig } from '../../src/config/app-config';
import { AppLogger } from '../../src/core/logging/app-logger';
import { HttpMetrics } from '../../src/core/metrics/http-metrics';

const ROOT = join(__dirname, '..', '..');

/** Leaves at least `bytes` of garbage on the heap (arrays of strings, dropped at once). */
function makeGarbage(bytes: number): void {
  let kept: string[][] = [];
  for (let made = 0; made < bytes; made += 64 * 1024) kept.push(Array.from({ length: 1024 }, (_, i) => `garbage ${i} ${made}`));
  kept = [];
}

describe('IdleMemoryTrimmer', () => {
  let http: HttpMetrics;
  let trimmer: IdleMemoryTrimmer;
  let logged: string[];

  const start = (idleSeconds: string) => {
    http = new HttpMetrics();
    logged = [];
    const config = loadConfig({ MEMORY_TRIM_IDLE_SEC: idleSeconds, LOG_LEVEL: 'debug' });
    trimmer = new IdleMemoryTrimmer(config, http, new AppLogger(config, { write: (line: string) => void logged.push(line) }));
    trimmer.onApplicationBootstrap();
  };
  afterEach(() => trimmer.onApplicationShutdown());

  it("writes its debug line to the app's logger, not to the console", () => {
    const console = jest.spyOn(process.stdout, 'write');
    try {
      start('1');
      trimmer.check(0);
      trimmer.check(1_000);
      expect(trimmer.trims).toBe(1);
      expect(console).not.toHaveBeenCalled();
    } finally {
      console.mockRestore();
    }
    expect(logged.map((line) => JSON.parse(line))).toEqual([
      expect.objectContaining({ level: 20, context: 'Memory', msg: expect.stringMatching(/^Idle: full garbage collection in \d+ ms/) }),
    ]);
  });

  it('collects once the server has been idle for MEMORY_TRIM_IDLE_SEC after the heap grew', () => {
    start('6');
    trimmer.check(0);
    trimmer.check(5_000);
    expect(trimmer.trims).toBe(0); // idle, but not for 6 s yet
    const usedBefore = getHeapStatistics().used_heap_size;
    trimmer.check(6_000);
    expect(trimmer.trims).toBe(1);
    // The garbage of the start went with it, so the heap in use fell or stayed put.
    expect(getHeapStatistics().used_heap_size).toBeLessThanOrEqual(usedBefore);
  });

  it('waits while requests arrive or are in flight, and counts the idle time from the last one', () => {
    start('6');
    trimmer.check(0);
    http.started += 1; // a request arrives and is still running
    trimmer.check(7_000);
    trimmer.check(14_000);
    expect(trimmer.trims).toBe(0);
    http.finished += 1;
    trimmer.check(15_000); // done: the idle time starts now
    trimmer.check(20_000);
    expect(trimmer.trims).toBe(0);
    trimmer.check(21_000);
    expect(trimmer.trims).toBe(1);
  });

  it('does not collect again until enough garbage piled up since the last time', () => {
    start('1');
    trimmer.check(0);
    trimmer.check(1_000);
    expect(trimmer.trims).toBe(1);
    http.started += 1;
    http.finished += 1;
    trimmer.check(2_000);
    trimmer.check(3_000);
    expect(trimmer.trims).toBe(1); // one small request: not worth a pause
    http.started += 1;
    http.finished += 1;
    makeGarbage(2 * TRIM_MIN_GROWTH_BYTES);
    trimmer.check(4_000);
    trimmer.check(5_000);
    expect(trimmer.trims).toBe(2);
  });

  it('never collects with MEMORY_TRIM_IDLE_SEC=0', () => {
    start('0');
    makeGarbage(2 * TRIM_MIN_GROWTH_BYTES);
    trimmer.check(0);
    trimmer.check(1_000_000);
    expect(trimmer.trims).toBe(0);
  });

  it('leaves gc off the global object of the process', () => {
    // In a process of its own: a jest worker's later test contexts do get gc once the flag is on.
    const script = [
      "const { IdleMemoryTrimmer } = require('./src/app/idle-memory-trimmer');",
      "const { loadConfig } = require('./src/config/app-config');",
      "const { HttpMetrics } = require('./src/core/metrics/http-metrics');",
      "const { AppLogger } = require('./src/core/logging/app-logger');",
      "const config = loadConfig({ MEMORY_TRIM_IDLE_SEC: '1' });",
      'const trimmer = new IdleMemoryTrimmer(config, new HttpMetrics(), new AppLogger(config, { write() {} }));',
      'trimmer.onApplicationBootstrap();',
      'trimmer.check(0); trimmer.check(1000);',
      'trimmer.onApplicationShutdown();',
      'console.log(JSON.stringify({ gc: typeof globalThis.gc, trims: trimmer.trims }));',
    ].join('\n');
    const output = execFileSync(process.execPath, ['-r', '@swc-node/register', '-e', script], { cwd: ROOT, encoding: 'utf8' });
    expect(JSON.parse(output)).toEqual({ gc: 'undefined', trims: 1 });
  });
});
