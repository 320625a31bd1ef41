import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { isoTime, LineBatch } from '../../src/core/logging/app-logger';

describe('LineBatch', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'vega-lines-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const open = (maxChars: number, maxWaitMs?: number) => {
    const file = join(dir, 'log');
    const target = pino.destination({ dest: file, sync: true });
    return { batch: new LineBatch(target, maxChars, maxWaitMs), read: () => readFileSync(file, 'utf8') };
  };

  it('holds lines until a flush, then writes them in order', () => {
    const { batch, read } = open(1024);
    batch.write('{"a":1}\n');
    batch.write('{"b":"é👋"}\n');
    expect(read()).toBe('');
    batch.flushSync();
    expect(read()).toBe('{"a":1}\n{"b":"é👋"}\n');
    batch.end();
  });

  it('writes without waiting once a batch is full', () => {
    const { batch, read } = open(16);
    batch.write('0123456789\n');
    expect(read()).toBe('');
    batch.write('abcdefghij\n');
    expect(read()).toBe('0123456789\nabcdefghij\n');
    batch.write('tail\n');
    batch.end();
    expect(read()).toBe('0123456789\nabcdefghij\ntail\n');
  });

  it('writes a batch maxWaitMs after its first line, with a timer only while lines wait', () => {
    jest.useFakeTimers();
    try {
      const { batch, read } = open(1024, 200);
      jest.advanceTimersByTime(1_000); // whatever the file stream arms when it opens
      const idle = jest.getTimerCount();
      batch.write('first\n');
      jest.advanceTimersByTime(150);
      batch.write('second\n');
      expect(jest.getTimerCount()).toBe(idle + 1);
      expect(read()).toBe('');
      jest.advanceTimersByTime(50);
      expect(read()).toBe('first\nsecond\n');
      expect(jest.getTimerCount()).toBe(idle);
      batch.end();
    } finally {
      jest.useRealTimers();
    }
  });

  it('carries pino lines intact', () => {
    const { batch, read } = open(1 << 20);
    const logger = pino({ base: undefined, timestamp: false }, batch);
    for (let i = 0; i < 100; i += 1) logger.info({ i }, 'line');
    batch.flushSync();
    const lines = read().trimEnd().split('\n').map((line) => JSON.parse(line) as { i: number; msg: string });
    expect(lines.map((line) => line.i)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    batch.end();
  });
});

describe('isoTime', () => {
  afterEach(() => jest.restoreAllMocks());

  it("writes pino's time field, formatted once per millisecond", () => {
    const now = jest.spyOn(Date, 'now').mockReturnValue(Date.UTC(2026, 10, 25, 3, 4, 5, 678));
    const toIso = jest.spyOn(Date.prototype, 'toISOString');
    expect(isoTime()).toBe(',"time":"2026-11-25T03:04:05.678Z"');
    expect(isoTime()).toBe(',"time":"2026-11-25T03:04:05.678Z"');
    expect(toIso).toHaveBeenCalledTimes(1);
    now.mockReturnValue(Date.UTC(2026, 10, 25, 3, 4, 5, 679));
    expect(isoTime()).toBe(',"time":"2026-11-25T03:04:05.679Z"');
    expect(JSON.parse(`{"level":30${isoTime()}}`)).toEqual({ level: 30, time: '2026-11-25T03:04:05.679Z' });
  });
});
