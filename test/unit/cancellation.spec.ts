import { Cancellation, CancelSignal } from '../../src/common/async/cancellation';

describe(Cancellation.name, () => {
  it('fires each listener once, in order, with the reason set before they run', () => {
    const cancellation = new Cancellation();
    const seen: string[] = [];
    cancellation.addEventListener('abort', () => seen.push(`first:${String(cancellation.reason)}`));
    cancellation.addEventListener('abort', () => seen.push(`second:${cancellation.aborted}`));
    cancellation.abort('gone');
    cancellation.abort('again');
    expect(seen).toEqual(['first:gone', 'second:true']);
    expect(cancellation.reason).toBe('gone');
  });

  it('does not call a listener that was removed, nor one added after the abort', () => {
    const cancellation = new Cancellation();
    const removed = jest.fn();
    const kept = jest.fn();
    const late = jest.fn();
    cancellation.addEventListener('abort', removed);
    cancellation.addEventListener('abort', kept);
    cancellation.removeEventListener('abort', removed);
    cancellation.abort(new Error('stop'));
    cancellation.addEventListener('abort', late);
    expect(removed).not.toHaveBeenCalled();
    expect(kept).toHaveBeenCalledTimes(1);
    expect(late).not.toHaveBeenCalled();
  });

  it('is interchangeable with an AbortSignal where a CancelSignal is expected', () => {
    const controller = new AbortController();
    const signals: CancelSignal[] = [controller.signal, new Cancellation()];
    const heard = jest.fn();
    for (const signal of signals) signal.addEventListener('abort', heard, { once: true });
    controller.abort('left');
    (signals[1] as Cancellation).abort('left');
    expect(heard).toHaveBeenCalledTimes(2);
    expect(signals.map((signal) => [signal.aborted, signal.reason])).toEqual([
      [true, 'left'],
      [true, 'left'],
    ]);
  });
});
