import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { ChangeNotices } from '../../redis/change-notices';
import type { BackendUsage, TokenLogprob, ToolCall } from '../llm-backend';

export interface CachedAnswer {
  text: string;
  usage: BackendUsage;
  /** Why the generation ended (Ollama `done_reason`: `stop`, `length`…), replayed on a hit. */
  doneReason?: string;
  /** The model that answered (a fallback of the one asked for, possibly), said again on a hit. */
  model?: string;
  thinking?: string;
  toolCalls?: ToolCall[];
  logprobs?: TokenLogprob[];
}

export interface CacheStats {
  size: number;
  maxEntries: number;
  ttlMs: number;
  hits: number;
  misses: number;
}

/** A second level behind the in-process one, shared by several instances (Redis). Never throws: a failure is a miss. */
export interface AnswerStore {
  get(key: string): Promise<CachedAnswer | undefined>;
  set(key: string, answer: CachedAnswer, ttlMs: number): void;
  /** Settles once the answers are gone for every instance (or could not be cleared). */
  clear(): Promise<void>;
  /** Another instance cleared the answers: forget what was read of them. */
  clearedElsewhere(): void;
}

/**
 * Exact-match answer cache: bounded LRU with a time to live (L1, this process), and optionally a
 * shared second level asked on an L1 miss (an answer found there fills L1). A TTL or size of 0
 * disables both. With change notices, a clear on one instance empties every instance's L1 too
 * (not only the shared level), so none serves an old answer until its TTL.
 */
export class ResponseCache {
  private readonly lru?: LRUCache<string, CachedAnswer>;
  private hits = 0;
  private misses = 0;

  constructor(
    private readonly maxEntries: number,
    private readonly ttlMs: number,
    private readonly shared?: AnswerStore,
    private readonly notices?: ChangeNotices,
  ) {
    if (maxEntries > 0 && ttlMs > 0) this.lru = new LRUCache({ max: maxEntries, ttl: ttlMs });
    notices?.on('cache', () => {
      this.shared?.clearedElsewhere();
      this.lru?.clear();
    });
  }

  get enabled(): boolean {
    return this.lru !== undefined;
  }

  /**
   * The key covers every field of the request, so everything that shapes the answer: model,
   * messages (images by their digest, not their bytes), options, tools and tool choice,
   * format, think, logprobs. `kind` keeps a chat and a raw completion apart.
   */
  static keyFor(kind: 'chat' | 'completion', request: object): string {
    return createHash('sha256').update(stableJson([kind, request], imageByDigest)).digest('base64url');
  }

  get(key: string): CachedAnswer | undefined {
    if (!this.lru) return undefined;
    const found = this.lru.get(key);
    if (found) this.hits += 1;
    else this.misses += 1;
    return found;
  }

  /** `get`, then the shared level on a miss. */
  async lookup(key: string): Promise<CachedAnswer | undefined> {
    if (!this.lru) return undefined;
    const local = this.lru.get(key);
    const found = local ?? (await this.shared?.get(key));
    if (found && !local) this.lru.set(key, found);
    if (found) this.hits += 1;
    else this.misses += 1;
    return found;
  }

  set(key: string, answer: CachedAnswer): void {
    if (!this.lru) return;
    this.lru.set(key, answer);
    this.shared?.set(key, answer, this.ttlMs);
  }

  clear(): void {
    this.lru?.clear();
    // Told once the shared answers are gone: an instance told sooner could fill its own from them again.
    void (this.shared?.clear() ?? Promise.resolve()).then(() => this.notices?.announce('cache'));
  }

  stats(): CacheStats {
    return { size: this.lru?.size ?? 0, maxEntries: this.maxEntries, ttlMs: this.ttlMs, hits: this.hits, misses: this.misses };
  }
}

/** An image (`{mime, data, bytes, sha256}`) stands in a key by its digest: the same picture, the same key. */
function imageByDigest(key: string, value: unknown): unknown {
  if (key === 'images' && Array.isArray(value)) return value.map((image) => (image as { sha256?: unknown }).sha256);
  return value;
}

/** JSON with object keys sorted, so `{a, b}` and `{b, a}` give the same key; `replace` runs first on each value. */
export function stableJson(value: unknown, replace?: (key: string, value: unknown) => unknown): string {
  return JSON.stringify(value, (key, raw: unknown) => {
    const v = replace ? replace(key, raw) : raw;
    return v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v;
  });
}
