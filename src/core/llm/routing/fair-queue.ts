import { ClientClosedError, QueueRefusedError } from '../../../common/errors/app-errors';
import type { Deadline } from '../resilience/attempt';
import type { Target } from './target';

/** `config.routing.queue`: requests waiting per model, and how long each may wait. */
export interface QueueSettings {
  maxLength: number;
  maxWaitMs: number;
}

/** Who waits: the lane it joins (its API key; '' for calls without one) and who hears of its place. */
export interface QueueCaller {
  key: string;
  /** Told the waiter's place (1: next), each time it changes, at most once a second. */
  onPosition?: (position: number) => void;
}

/** How a wait ended: given a place on a target (`served`), refused (`full`, `timeout`), or the client left (`left`). */
export type QueueExit = 'served' | 'full' | 'timeout' | 'left';

/** Told how each wait ended and how long it took (metrics); `full` waited 0. */
export type QueueListener = (model: string, waitedMs: number, exit: QueueExit) => void;

/** A place on a target, taken for one attempt: `end()` gives it back (once). */
export interface Slot {
  target: Target;
  end: () => void;
}

/** What the queue needs of the pool: the targets, and the pick among those that serve a model. */
export interface SlotSource {
  pick(model: string): Target | undefined;
  /** Calls `listener` with every target, now and later (a reload adds some). */
  onTarget(listener: (target: Target) => void): void;
}

/** How often a waiter hears of its place, at most. */
const POSITION_REPORT_MS = 1_000;
/** Completions per model remembered for the service rate behind `Retry-After`. */
const RATE_WINDOW = 32;
const MAX_RETRY_AFTER_SECONDS = 3_600;

interface Waiter {
  readonly key: string;
  readonly model: string;
  readonly enqueuedAt: number;
  readonly onPosition?: (position: number) => void;
  reported: number;
  settle(slot: Slot): void;
}

/**
 * Vega's queue for requests whose model's targets are all at their max concurrency. Each model
 * has its own queue of lanes, one per API key: lanes are served round-robin, each lane first in
 * first out, so one key's batch of a hundred cannot starve another key's single request. A place
 * that frees on a target (an attempt ends) goes straight to the next waiter for a model that
 * target serves, before any newcomer can take it. Bounded by `QUEUE_MAX_LENGTH` per model and
 * `QUEUE_MAX_WAIT_SEC` per request; a refusal carries a `Retry-After` from the rate at which the
 * model's requests have been finishing.
 */
export class FairQueue {
  private readonly queues = new Map<string, ModelQueue>();
  private readonly rates = new Map<string, ServiceRate>();
  private readonly listeners: QueueListener[] = [];

  constructor(
    private readonly source: SlotSource,
    private readonly settings: QueueSettings,
    /** The caller of the request being served (its key, its position listener); none: the shared lane. */
    private readonly caller: () => QueueCaller | undefined = () => undefined,
  ) {
    source.onTarget((target) => {
      target.onRelease(() => this.offer(target));
      // A server whose breaker closes again can take waiters at once, not only when a place frees.
      target.breaker.onStateChange((state) => state === 'closed' && this.offer(target));
    });
  }

  get maxWaitMs(): number {
    return this.settings.maxWaitMs;
  }

  /** Requests waiting for `model` now. */
  length(model: string): number {
    return this.queues.get(model)?.size ?? 0;
  }

  /** Requests waiting, by model (models with none left out). */
  lengths(): Map<string, number> {
    const lengths = new Map<string, number>();
    for (const [model, queue] of this.queues) lengths.set(model, queue.size);
    return lengths;
  }

  onExit(listener: QueueListener): void {
    this.listeners.push(listener);
  }

  /** Takes a place on `target` for an attempt at `model` (its end counts towards the service rate). */
  take(target: Target, model: string): Slot {
    const end = target.begin();
    let ended = false;
    return {
      target,
      end: () => {
        if (ended) return;
        ended = true;
        this.rateOf(model).completed(performance.now());
        end();
      },
    };
  }

  /**
   * Waits in `model`'s queue, in the caller's lane, until a target has a place for it; resolves
   * with the place taken. Rejects with `QueueRefusedError` (queue full, or waiting since `since`
   * for longer than the max wait), the deadline's failure, or `ClientClosedError`.
   */
  wait(model: string, deadline: Deadline, since: number): Promise<Slot> {
    const now = performance.now();
    const overdue = this.refuseIfOverdue(model, since);
    if (overdue) return Promise.reject(overdue);
    const queue = this.queues.get(model) ?? new ModelQueue();
    if (queue.size >= this.settings.maxLength) {
      this.exit(model, 0, 'full');
      const seconds = this.retryAfterSeconds(model, queue.size);
      return Promise.reject(
        new QueueRefusedError('full', `Every model server for '${model}' is busy and ${queue.size} requests are already waiting; retry in ${seconds} s`, seconds),
      );
    }
    const failure = deadline.reason();
    if (failure) return Promise.reject(failure);
    const caller = this.caller();
    return new Promise<Slot>((resolve, reject) => {
      const maxWaitLeft = since + this.settings.maxWaitMs - now;
      const untilDeadline = deadline.remainingMs();
      const onClientLeft = () => finish(undefined, 'left', new ClientClosedError());
      const timer = setTimeout(
        () => finish(undefined, 'timeout', maxWaitLeft <= untilDeadline ? this.waitedTooLong(model, since, queue.has(waiter) ? queue.position(waiter) : 1) : deadline.expired()),
        Math.max(0, Math.min(maxWaitLeft, untilDeadline)),
      );
      timer.unref();
      let finished = false;
      const finish = (slot: Slot | undefined, exit: QueueExit, error?: unknown) => {
        if (finished) return;
        finished = true;
        clearTimeout(timer);
        deadline.client.removeEventListener('abort', onClientLeft);
        if (exit !== 'served') this.leave(waiter);
        this.exit(model, performance.now() - now, exit);
        if (slot) resolve(slot);
        else reject(error);
      };
      const waiter: Waiter = {
        key: caller?.key ?? '',
        model,
        enqueuedAt: now,
        onPosition: caller?.onPosition,
        reported: 0,
        settle: (slot) => finish(slot, 'served'),
      };
      deadline.client.addEventListener('abort', onClientLeft, { once: true });
      this.queues.set(model, queue);
      queue.enqueue(waiter);
      this.pump(model, queue);
      if (queue.has(waiter) && waiter.onPosition) this.scheduleReport(queue);
    });
  }

  /**
   * A place may be free on `target` (one was released, its breaker closed, an operator resumed
   * it): it goes to the waiters of the models it serves, each model in turn.
   */
  offer(target: Target): void {
    if (this.queues.size === 0 || !target.hasRoom || !target.available) return;
    for (const [model, queue] of [...this.queues]) {
      if (!target.serves(model)) continue;
      this.pump(model, queue);
      // The model served goes last, so models that share a target take its places in turn.
      if (this.queues.delete(model) && queue.size > 0) this.queues.set(model, queue);
      if (!target.hasRoom) return;
    }
  }

  /** Hands every place free for `model` to its waiters, in their turn. */
  private pump(model: string, queue: ModelQueue): void {
    while (queue.size > 0) {
      const target = this.source.pick(model);
      if (!target || !target.hasRoom || !target.available) break;
      queue.dequeue().settle(this.take(target, model));
    }
    if (queue.size === 0) this.drop(model, queue);
    else if (queue.listening > 0) this.scheduleReport(queue);
  }

  private leave(waiter: Waiter): void {
    const queue = this.queues.get(waiter.model);
    if (!queue?.remove(waiter)) return;
    if (queue.size === 0) this.drop(waiter.model, queue);
    else if (queue.listening > 0) this.scheduleReport(queue);
  }

  private drop(model: string, queue: ModelQueue): void {
    if (this.queues.get(model) === queue) this.queues.delete(model);
    queue.stopReports();
  }

  /** Tells each listening waiter its place when it changed, at most once a second per model. */
  private scheduleReport(queue: ModelQueue): void {
    if (queue.reportTimer) return;
    const delay = Math.max(0, queue.lastReport + POSITION_REPORT_MS - performance.now());
    queue.reportTimer = setTimeout(() => {
      queue.reportTimer = undefined;
      queue.lastReport = performance.now();
      queue.reportPositions();
    }, delay);
    queue.reportTimer.unref();
  }

  /** The refusal (counted) of a request for `model` that has waited, or retried busy servers, since `since` for the max wait. */
  refuseIfOverdue(model: string, since: number): QueueRefusedError | undefined {
    const waited = performance.now() - since;
    if (waited < this.settings.maxWaitMs) return undefined;
    this.exit(model, waited, 'timeout');
    return this.waitedTooLong(model, since, this.length(model) + 1);
  }

  private waitedTooLong(model: string, since: number, position: number): QueueRefusedError {
    const seconds = this.retryAfterSeconds(model, position);
    const waited = Math.round((performance.now() - since) / 1000);
    return new QueueRefusedError('timeout', `Every model server for '${model}' stayed busy for ${waited} s while this request waited in the queue; retry in ${seconds} s`, seconds);
  }

  /** How long `ahead` requests take to finish at the rate the model's requests have been finishing. */
  private retryAfterSeconds(model: string, ahead: number): number {
    const perMs = this.rates.get(model)?.perMs(performance.now());
    const ms = perMs ? ahead / perMs : this.settings.maxWaitMs;
    return Math.min(MAX_RETRY_AFTER_SECONDS, Math.max(1, Math.ceil(ms / 1000)));
  }

  private rateOf(model: string): ServiceRate {
    let rate = this.rates.get(model);
    if (!rate) this.rates.set(model, (rate = new ServiceRate()));
    return rate;
  }

  private exit(model: string, waitedMs: number, exit: QueueExit): void {
    for (const listener of this.listeners) listener(model, waitedMs, exit);
  }
}

/** One key's waiters for a model, first in first out. */
class Lane extends Array<Waiter> {
  /** Not served yet since it began waiting. */
  fresh = true;
}

/**
 * One model's waiters: a lane per key, served round-robin from `cursor`. A lane that starts
 * waiting goes before the lanes already served (after other new ones), as fq_codel treats new
 * flows: a key with a single request waits for the next free place, not for a whole round of
 * the busy keys; a key with many gets its turn in the round like any other.
 */
class ModelQueue {
  size = 0;
  /** Waiters that want to hear their position. */
  listening = 0;
  lastReport = -Infinity;
  reportTimer?: NodeJS.Timeout;
  private readonly lanes = new Map<string, Lane>();
  private readonly order: Lane[] = [];
  private cursor = 0;

  enqueue(waiter: Waiter): void {
    let lane = this.lanes.get(waiter.key);
    if (!lane) {
      lane = new Lane();
      this.lanes.set(waiter.key, lane);
      if (this.cursor >= this.order.length) this.cursor = 0;
      let at = this.cursor;
      while (at < this.order.length && this.order[at]!.fresh) at += 1;
      this.order.splice(at, 0, lane);
    }
    lane.push(waiter);
    this.size += 1;
    if (waiter.onPosition) this.listening += 1;
  }

  dequeue(): Waiter {
    if (this.cursor >= this.order.length) this.cursor = 0;
    const lane = this.order[this.cursor]!;
    const waiter = lane.shift()!;
    lane.fresh = false;
    if (lane.length === 0) {
      this.order.splice(this.cursor, 1);
      this.lanes.delete(waiter.key);
    } else {
      this.cursor += 1;
    }
    this.forget(waiter);
    return waiter;
  }

  has(waiter: Waiter): boolean {
    return this.lanes.get(waiter.key)?.includes(waiter) ?? false;
  }

  remove(waiter: Waiter): boolean {
    const lane = this.lanes.get(waiter.key);
    const index = lane ? lane.indexOf(waiter) : -1;
    if (!lane || index < 0) return false;
    lane.splice(index, 1);
    if (lane.length === 0) {
      const at = this.order.indexOf(lane);
      this.order.splice(at, 1);
      if (at < this.cursor) this.cursor -= 1;
      this.lanes.delete(waiter.key);
    }
    this.forget(waiter);
    return true;
  }

  /**
   * Its place (1: served next). Before the waiter at index `i` of its lane, every lane serves
   * up to `i` of its own in the earlier rounds, and in its round the lanes ahead of its lane
   * serve one more each if they have it.
   */
  position(waiter: Waiter): number {
    const lane = this.lanes.get(waiter.key)!;
    const index = lane.indexOf(waiter);
    const count = this.order.length;
    const start = this.cursor >= count ? 0 : this.cursor;
    const offset = (this.order.indexOf(lane) - start + count) % count;
    let before = 0;
    for (let step = 0; step < count; step += 1) {
      const other = this.order[(start + step) % count]!;
      before += Math.min(other.length, index) + (step < offset && other.length > index ? 1 : 0);
    }
    return before + 1;
  }

  reportPositions(): void {
    for (const lane of this.order) {
      for (const waiter of lane) {
        if (!waiter.onPosition) continue;
        const position = this.position(waiter);
        if (position === waiter.reported) continue;
        waiter.reported = position;
        waiter.onPosition(position);
      }
    }
  }

  stopReports(): void {
    if (this.reportTimer) clearTimeout(this.reportTimer);
    this.reportTimer = undefined;
  }

  private forget(waiter: Waiter): void {
    this.size -= 1;
    if (waiter.onPosition) this.listening -= 1;
  }
}

/** The rate at which a model's requests finish, over its last completions. */
class ServiceRate {
  private readonly times = new Float64Array(RATE_WINDOW);
  private count = 0;

  completed(at: number): void {
    this.times[this.count % RATE_WINDOW] = at;
    this.count += 1;
  }

  /** Completions per millisecond; undefined until two were seen, or when the last is long past. */
  perMs(now: number): number | undefined {
    if (this.count < 2) return undefined;
    const seen = Math.min(this.count, RATE_WINDOW);
    const oldest = this.times[(this.count - seen) % RATE_WINDOW]!;
    // Up to now, not to the newest: a model whose requests stopped finishing slows down.
    const span = now - oldest;
    return span > 0 ? seen / span : undefined;
  }
}
