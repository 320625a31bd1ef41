import { Cancellation, CancelSignal, firstOf } from '../../src/common/async/cancellation';

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

describe(firstOf.name, () => {
  it('fires with the reason of the first source that fires, once', () => {
    const client = new Cancellation();
    const shutdown = new AbortController();
    const { signal } = firstOf([client, shutdown.signal]);
    const heard = jest.fn();
    signal.addEventListener('abort', heard);
    shutdown.abort('shutting down');
    client.abort('left');
    expect(signal.reason).toBe('shutting down');
    expect(heard).toHaveBeenCalledTimes(1);
  });

  it('starts aborted when a source already fired', () => {
    const client = new Cancellation();
    client.abort('left');
    expect(firstOf([new Cancellation(), client]).signal).toMatchObject({ aborted: true, reason: 'left' });
  });

  it('leaves nothing attached to a long-lived source once released', () => {
    const shutdown = new Cancellation();
    const added = jest.spyOn(shutdown, 'addEventListener');
    const removed = jest.spyOn(shutdown, 'removeEventListener');
    for (let request = 0; request < 3; request += 1) firstOf([new Cancellation(), shutdown]).release();
    expect(added).toHaveBeenCalledTimes(3);
    expect(removed.mock.calls.map(([, listener]) => listener)).toEqual(added.mock.calls.map(([, listener]) => listener));
    const late = firstOf([new Cancellation(), shutdown]);
    late.release();
    shutdown.abort('shutting down');
    expect(late.signal.aborted).toBe(false);
  });

  it('detaches from the other sources when one fires', () => {
    const client = new Cancellation();
    const shutdown = new Cancellation();
    const removed = jest.spyOn(shutdown, 'removeEventListener');
    firstOf([client, shutdown]);
    client.abort('left');
    expect(removed).toHaveBeenCalledTimes(1);
  });
});
