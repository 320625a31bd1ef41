import { Writable } from 'node:stream';
import { drained } from '../../src/common/streaming/drained';

/** A writable that takes one small chunk at a time, answering each write when told to. */
function slowSink(): { sink: Writable; release: () => void } {
  let pending: (() => void) | undefined;
  const sink = new Writable({
    highWaterMark: 4,
    write(_chunk, _encoding, callback) {
      pending = callback;
    },
  });
  return { sink, release: () => pending?.() };
}

describe(drained.name, () => {
  it('waits for drain, and leaves no close listener behind however often it waits', async () => {
    const { sink, release } = slowSink();
    const before = sink.listenerCount('close');
    for (let i = 0; i < 25; i += 1) {
      expect(sink.write('12345678')).toBe(false);
      const waiting = drained(sink);
      release();
      await waiting;
    }
    expect(sink.listenerCount('close')).toBe(before);
    expect(sink.listenerCount('drain')).toBe(0);
  });

  it('ends the wait when the stream closes instead', async () => {
    const { sink } = slowSink();
    sink.write('12345678');
    const waiting = drained(sink);
    sink.destroy();
    await expect(waiting).resolves.toBeUndefined();
    expect(sink.listenerCount('drain')).toBe(0);
  });
});
