import { firstOf } from '../../src/common/async/cancellation';
import { ClientClosedError } from '../../src/common/errors/app-errors';
import { ShutdownSignal } from '../../src/common/lifecycle/shutdown-signal';

describe(ShutdownSignal.name, () => {
  it('ends every open stream joined to it, without a listener-leak warning however many are open', async () => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    try {
      const shutdown = new ShutdownSignal();
      const streams = Array.from({ length: 64 }, () => firstOf([new AbortController().signal, shutdown.signal]));
      shutdown.begin();
      await new Promise((tick) => setImmediate(tick));
      expect(shutdown.active).toBe(true);
      expect(streams.every(({ signal }) => signal.aborted && signal.reason instanceof ClientClosedError)).toBe(true);
      expect(warnings).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  });
});
