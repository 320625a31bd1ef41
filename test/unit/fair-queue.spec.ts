import { Cancellation } from '../../src/common/async/cancellation';
import { ClientClosedError, QueueRefusedError } from '../../src/common/errors/app-errors';
import type { TargetSettings } from '../../src/config/routing-settings';
import { OllamaBackend } from '../../src/core/llm/backends/ollama/ollama.backend';
import { Deadline } from '../../src/core/llm/resilience/attempt';
import { FairQueue, QueueCaller, QueueExit, QueueSettings, Slot } from '../../src/core/llm/routing/fair-queue';
import { Target } from '../../src/core/llm/routing/target';
import { TargetPool } from '../../src/core/llm/routing/target-pool';

/** Never called: the queue only counts places on targets, it sends nothing. */
const NOWHERE = 'http://127.0.0.1:9';

function target(name: string, maxConcurrency: number, models: string[] = ['mistral']): Target {
  const settings: TargetSettings = { name, kind: 'ollama', url: NOWHERE, weight: 1, maxConcurrency, models };
  return new Target(settings, new OllamaBackend(NOWHERE), { failThreshold: 5, resetMs: 30_000 });
}

interface Setup {
  queue: FairQueue;
  as: (caller: QueueCaller | undefined) => void;
  exits: { model: string; exit: QueueExit }[];
}

function setup(targets: Target[], settings: QueueSettings = { maxLength: 100, maxWaitMs: 10_000 }): Setup {
  let current: QueueCaller | undefined;
  const pool = new TargetPool(targets, 'least-busy', { settings, caller: () => current });
  const exits: Setup['exits'] = [];
  pool.queue.onExit((model, _waited, exit) => exits.push({ model, exit }));
  return { queue: pool.queue, as: (caller) => (current = caller), exits };
}

/**
 * Waiters queued one by one for `mistral`, each under its key (`enqueue`), the labels in the order
 * the queue serves them, and `serve(rounds)`: lets them through one at a time, each slot ended
 * once it was handed out (`each` runs while it is held).
 */
function waiters({ queue, as }: Setup) {
  const served: string[] = [];
  const slots: Slot[] = [];
  const enqueue = (key: string, label: string) => {
    as({ key });
    void queue.wait('mistral', deadline(), performance.now()).then((slot) => {
      served.push(label);
      slots.push(slot);
    });
  };
  const serve = async (rounds: number, each?: () => void) => {
    for (let round = 1; round <= rounds; round += 1) {
      await waitFor(() => served.length === round);
      each?.();
      slots[round - 1]!.end();
    }
  };
  return { served, enqueue, serve };
}

function deadline(client = new Cancellation(), timeoutMs = 60_000): Deadline {
  return new Deadline(timeoutMs, client);
}

describe(FairQueue.name, () => {
  describe('wait', () => {
    it('serves keys in turn and each key first in first out, whoever sent more', async () => {
      const gpu = target('gpu', 1);
      const queued = setup([gpu]);
      const { queue } = queued;
      const { served, enqueue, serve } = waiters(queued);
      const running = queue.take(gpu, 'mistral');
      for (let index = 1; index <= 4; index += 1) enqueue('heavy', `h${index}`);
      enqueue('light', 'l1');
      enqueue('light', 'l2');
      expect(queue.length('mistral')).toBe(6);

      running.end();
      await serve(6, () => expect(gpu.inFlight).toBe(1));
      expect(served).toEqual(['h1', 'l1', 'h2', 'l2', 'h3', 'h4']);
      expect(queue.length('mistral')).toBe(0);
      expect(gpu.inFlight).toBe(0);
    });

    it("serves a key that starts waiting before the next of a key already served, not after a whole round", async () => {
      const gpu = target('gpu', 1);
      const queued = setup([gpu]);
      const { queue } = queued;
      const { served, enqueue, serve } = waiters(queued);
      const running = queue.take(gpu, 'mistral');
      for (let index = 1; index <= 3; index += 1) enqueue('heavy', `h${index}`);
      enqueue('other', 'o1');
      enqueue('other', 'o2');
      running.end();
      await waitFor(() => served.length === 1);
      // heavy was served once; 'light' starts waiting now and goes before heavy's next, after 'other' (new too, waiting longer).
      enqueue('light', 'l1');
      await serve(6);
      expect(served).toEqual(['h1', 'o1', 'l1', 'h2', 'o2', 'h3']);
    });

    it('hands a freed place to the waiter before a newcomer can take it', async () => {
      const gpu = target('gpu', 1);
      const { queue } = setup([gpu]);
      const running = queue.take(gpu, 'mistral');
      const waiting = queue.wait('mistral', deadline(), performance.now());
      running.end();
      expect(gpu.inFlight).toBe(1);
      expect(gpu.hasRoom).toBe(false);
      const slot = await waiting;
      expect(slot.target).toBe(gpu);
      slot.end();
      expect(gpu.inFlight).toBe(0);
    });

    it('takes a place on whichever target that serves the model frees one, and none from a target that does not', async () => {
      const small = target('small', 1, ['mistral']);
      const other = target('other', 1, ['llama3']);
      const { queue } = setup([small, other]);
      const running = queue.take(small, 'mistral');
      const elsewhere = queue.take(other, 'llama3');
      const waiting = queue.wait('mistral', deadline(), performance.now());
      elsewhere.end();
      expect(queue.length('mistral')).toBe(1);
      running.end();
      expect((await waiting).target).toBe(small);
    });

    it('tells a listening waiter its place, and again when it moves up', async () => {
      const gpu = target('gpu', 1);
      const { queue, as } = setup([gpu]);
      const running = queue.take(gpu, 'mistral');
      as({ key: 'heavy' });
      const first = queue.wait('mistral', deadline(), performance.now());
      const second = queue.wait('mistral', deadline(), performance.now());
      const positions: number[] = [];
      as({ key: 'heavy', onPosition: (position) => positions.push(position) });
      const third = queue.wait('mistral', deadline(), performance.now());
      await waitFor(() => positions.length === 1);
      expect(positions).toEqual([3]);
      running.end();
      (await first).end();
      await waitFor(() => positions.length === 2, 3_000);
      expect(positions).toEqual([3, 1]);
      (await second).end();
      (await third).end();
    });

    it('refuses a request when the queue for its model is full, with a Retry-After', async () => {
      const gpu = target('gpu', 1);
      const { queue, exits } = setup([gpu], { maxLength: 1, maxWaitMs: 4_000 });
      const running = queue.take(gpu, 'mistral');
      const waiting = queue.wait('mistral', deadline(), performance.now());
      const refused = await queue.wait('mistral', deadline(), performance.now()).catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(QueueRefusedError);
      expect((refused as QueueRefusedError).reason).toBe('full');
      expect((refused as QueueRefusedError).retryAfterSeconds).toBe(4);
      expect((refused as Error).message).toBe("Every model server for 'mistral' is busy and 1 requests are already waiting; retry in 4 s");
      expect(exits).toEqual([{ model: 'mistral', exit: 'full' }]);
      running.end();
      (await waiting).end();
    });

    it('refuses a request that waited QUEUE_MAX_WAIT_SEC and takes it out of the queue', async () => {
      const gpu = target('gpu', 1);
      const { queue, exits } = setup([gpu], { maxLength: 10, maxWaitMs: 50 });
      const running = queue.take(gpu, 'mistral');
      const refused = await queue.wait('mistral', deadline(), performance.now()).catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(QueueRefusedError);
      expect((refused as QueueRefusedError).reason).toBe('timeout');
      expect(queue.length('mistral')).toBe(0);
      expect(exits).toEqual([{ model: 'mistral', exit: 'timeout' }]);
      running.end();
      expect(gpu.inFlight).toBe(0);
    });

    it('takes a waiter whose client left out of the queue at once', async () => {
      const gpu = target('gpu', 1);
      const { queue, exits } = setup([gpu]);
      const running = queue.take(gpu, 'mistral');
      const client = new Cancellation();
      const waiting = queue.wait('mistral', deadline(client), performance.now()).catch((error: unknown) => error);
      expect(queue.length('mistral')).toBe(1);
      client.abort(new ClientClosedError());
      expect(queue.length('mistral')).toBe(0);
      expect(await waiting).toBeInstanceOf(ClientClosedError);
      expect(exits).toEqual([{ model: 'mistral', exit: 'left' }]);
      running.end();
      expect(gpu.inFlight).toBe(0);
    });

    it('says when to retry from the rate at which the model has been served', async () => {
      const gpu = target('gpu', 1);
      const { queue } = setup([gpu], { maxLength: 0, maxWaitMs: 600_000 });
      // Ten answers in about 100 ms: a queue of 0 ahead still waits the next one, rounded up to 1 s.
      for (let index = 0; index < 10; index += 1) {
        const slot = queue.take(gpu, 'mistral');
        await new Promise((resolve) => setTimeout(resolve, 10));
        slot.end();
      }
      const refused = (await queue.wait('mistral', deadline(), performance.now()).catch((error: unknown) => error)) as QueueRefusedError;
      expect(refused.reason).toBe('full');
      expect(refused.retryAfterSeconds).toBe(1);
    });
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 2_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
