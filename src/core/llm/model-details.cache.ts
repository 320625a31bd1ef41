import type { CancelSignal } from '../../common/async/cancellation';
import type { LlmBackend, ModelDetails } from './llm-backend';

/** How long what the backend said of a model is trusted: a pulled or re-created model shows up within it. */
export const MODEL_DETAILS_TTL_MS = 60_000;
/**
 * How long details are trusted that say nothing of the context a request gets (no Modelfile
 * `num_ctx`, not loaded): the model is likely loaded by the very chat that asked, and the next
 * look at `/api/ps` then finds the context Ollama really gave it.
 */
export const UNLOADED_DETAILS_TTL_MS = 5_000;
/** How long one `/api/show` may take; callers that cannot wait that long give up on their own signal. */
const SHOW_TIMEOUT_MS = 10_000;
/** Bounds the cache against clients naming many models. */
const MAX_ENTRIES = 256;

/**
 * The backend's `showModel` answers, kept for a minute per model. The context guard asks on
 * every chat and `GET /v1/models` for every listed model: without the cache, each would be an
 * `/api/show` round trip (Ollama reads the model's manifest and GGUF header for it). Concurrent
 * asks for the same model share one request, which therefore runs on its own timeout: a caller's
 * `signal` only stops that caller's wait. A failure is not kept.
 */
export class ModelDetailsCache {
  private readonly entries = new Map<string, { at: number; details: Promise<ModelDetails>; value?: ModelDetails }>();

  constructor(
    private readonly backend: Pick<LlmBackend, 'showModel'>,
    private readonly ttlMs = MODEL_DETAILS_TTL_MS,
  ) {}

  get(model: string, signal?: CancelSignal): Promise<ModelDetails> {
    return signal ? untilAborted(this.shared(model), signal) : this.shared(model);
  }

  /** The details when they are known and fresh, without waiting (the chat path's common case). */
  peek(model: string): ModelDetails | undefined {
    const found = this.entries.get(model);
    return found && this.fresh(found, performance.now()) ? found.value : undefined;
  }

  private fresh(entry: { at: number; value?: ModelDetails }, now: number): boolean {
    const { value } = entry;
    const unknownContext = value !== undefined && value.numCtx === undefined && value.loadedNumCtx === undefined;
    return now - entry.at < (unknownContext ? Math.min(this.ttlMs, UNLOADED_DETAILS_TTL_MS) : this.ttlMs);
  }

  private shared(model: string): Promise<ModelDetails> {
    const now = performance.now();
    const found = this.entries.get(model);
    if (found && this.fresh(found, now)) return found.details;
    const details = this.backend.showModel(model, AbortSignal.timeout(SHOW_TIMEOUT_MS));
    const entry: { at: number; details: Promise<ModelDetails>; value?: ModelDetails } = { at: now, details };
    if (this.entries.size >= MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(model, entry);
    details.then(
      (value) => (entry.value = value),
      () => {
        if (this.entries.get(model) === entry) this.entries.delete(model);
      },
    );
    return details;
  }
}

/** `promise`, or a rejection with `signal.reason` as soon as `signal` aborts. */
function untilAborted<T>(promise: Promise<T>, signal: CancelSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
