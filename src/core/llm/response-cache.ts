import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { BackendUsage, ChatMessage } from './llm-backend';

export interface CachedAnswer {
  text: string;
  usage: BackendUsage;
  /** Why the generation ended (Ollama `done_reason`: `stop`, `length`…), replayed on a hit. */
  doneReason?: string;
}

export interface CacheStats {
  size: number;
  maxEntries: number;
  ttlMs: number;
  hits: number;
  misses: number;
}

/** Exact-match answer cache: bounded LRU with a time to live. A TTL or size of 0 disables it. */
export class ResponseCache {
  private readonly lru?: LRUCache<string, CachedAnswer>;
  private hits = 0;
  private misses = 0;

  constructor(
    private readonly maxEntries: number,
    private readonly ttlMs: number,
  ) {
    if (maxEntries > 0 && ttlMs > 0) this.lru = new LRUCache({ max: maxEntries, ttl: ttlMs });
  }

  get enabled(): boolean {
    return this.lru !== undefined;
  }

  /** The key covers everything that shapes the answer: model, the whole message list and the options. */
  static keyFor(model: string, messages: readonly ChatMessage[], options: Record<string, unknown>): string {
    return createHash('sha256').update(stableJson([model, messages, options])).digest('base64url');
  }

  get(key: string): CachedAnswer | undefined {
    if (!this.lru) return undefined;
    const found = this.lru.get(key);
    if (found) this.hits += 1;
    else this.misses += 1;
    return found;
  }

  set(key: string, answer: CachedAnswer): void {
    this.lru?.set(key, answer);
  }

  clear(): void {
    this.lru?.clear();
  }

  stats(): CacheStats {
    return { size: this.lru?.size ?? 0, maxEntries: this.maxEntries, ttlMs: this.ttlMs, hits: this.hits, misses: this.misses };
  }
}

/** JSON with object keys sorted, so `{a, b}` and `{b, a}` give the same key. */
export function stableJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}
