import { BatchQueue } from '../../src/core/persistence/batch-queue';

/** A write the test ends by hand: its rows, and the ids it will answer with. */
interface HeldWrite {
  rows: string[];
  answer(): void;
  fail(error: unknown): void;
}

function heldQueue(maxInFlight: number, maxRows = 500) {
  const writes: HeldWrite[] = [];
  let nextId = 1;
  let inFlight = 0;
  let peak = 0;
  const queue = new BatchQueue<string>(
    (rows) =>
      new Promise<number[]>((resolve, reject) => {
        inFlight += 1;
        peak = Math.max(peak, inFlight);
        const done = () => (inFlight -= 1);
        writes.push({
          rows,
          answer: () => {
            done();
            resolve(rows.map(() => nextId++));
          },
          fail: (error) => {
            done();
            reject(error);
          },
        });
      }),
    () => true,
    maxRows,
    maxInFlight,
  );
  return { queue, writes, peak: () => peak };
}

const turn = () => new Promise((next) => setImmediate(next));

describe('BatchQueue', () => {
  it('writes the rows of one turn together, and those queued behind a write with the next one', async () => {
    const { queue, writes } = heldQueue(1);
    const first = ['a', 'b', 'c'].map((row) => queue.insert(row));
    await turn();
    expect(writes.map((write) => write.rows)).toEqual([['a', 'b', 'c']]);
    const second = ['d', 'e'].map((row) => queue.insert(row));
    await turn();
    // One write at a time: d and e wait for a's batch.
    expect(writes).toHaveLength(1);
    writes[0].answer();
    expect(await Promise.all(first)).toEqual([1, 2, 3]);
    await turn();
    expect(writes.map((write) => write.rows)).toEqual([['a', 'b', 'c'], ['d', 'e']]);
    writes[1].answer();
    expect(await Promise.all(second)).toEqual([4, 5]);
  });

  it('starts a second write while the first is under way when two may be in flight, never a third', async () => {
    const { queue, writes, peak } = heldQueue(2);
    const first = queue.insert('a');
    await turn();
    const second = queue.insert('b');
    await turn();
    const third = queue.insert('c');
    await turn();
    expect(writes.map((write) => write.rows)).toEqual([['a'], ['b']]);
    // The second answers first: its caller does not wait for the first.
    writes[1].answer();
    expect(await second).toBe(1);
    await turn();
    expect(writes.map((write) => write.rows)).toEqual([['a'], ['b'], ['c']]);
    writes[0].answer();
    writes[2].answer();
    expect(await Promise.all([first, third])).toEqual([2, 3]);
    expect(peak()).toBe(2);
  });

  it('splits a long queue into batches of at most maxRows', async () => {
    const { queue, writes } = heldQueue(2, 2);
    const ids = ['a', 'b', 'c', 'd', 'e'].map((row) => queue.insert(row));
    await turn();
    expect(writes.map((write) => write.rows)).toEqual([['a', 'b'], ['c', 'd']]);
    writes[0].answer();
    await turn();
    expect(writes.map((write) => write.rows)).toEqual([['a', 'b'], ['c', 'd'], ['e']]);
    writes[1].answer();
    writes[2].answer();
    expect(await Promise.all(ids)).toEqual([1, 2, 3, 4, 5]);
  });

  it('fails the whole batch on a failure of the database, and close waits for every write under way', async () => {
    const { queue, writes } = heldQueue(2);
    const failed = [queue.insert('a'), queue.insert('b')];
    await turn();
    const kept = queue.insert('c');
    await turn();
    let closed = false;
    const closing = queue.close().then(() => (closed = true));
    await expect(queue.insert('late')).rejects.toThrow('the database is closing');
    writes[0].fail(new Error('server down'));
    for (const row of failed) await expect(row).rejects.toThrow('server down');
    await turn();
    expect(closed).toBe(false);
    writes[1].answer();
    await closing;
    expect(await kept).toBe(1);
  });
});
