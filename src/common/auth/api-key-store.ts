import { hash, timingSafeEqual } from 'node:crypto';
import type { Principal } from './principal';

/** What a presented key turned out to be: a principal, or a key that exists but may no longer be used. */
export type KeyLookup = { principal: Principal } | { refused: 'revoked' | 'expired'; keyId: string; at: string };

/**
 * The port the API-key guard identifies keys through. Adapters hold keys only as digests
 * (`keyDigest`) and compare them in constant time; identification is asynchronous (a database
 * adapter reads its table, through a short cache).
 */
export abstract class ApiKeyStore {
  /** The key's principal, why it is refused, or null for a key nobody issued. */
  abstract identify(secret: string): Promise<KeyLookup | null>;
}

// One-shot `hash()`: no Hash object per request (it checks every request's key).
/** SHA-256 of a key: what is kept of it. Keys are long random strings, so a fast digest is enough. */
export const keyDigest = (secret: string): Buffer => hash('sha256', secret, 'buffer');

interface StaticEntry {
  digest: Buffer;
  principal: Principal;
}

/**
 * Keys known when the process starts (the environment's, or a test's). Comparing digests of
 * equal length with `timingSafeEqual`, against every key without stopping at the first match,
 * keeps the check constant-time in both the key's content and its length.
 */
export class StaticKeyStore extends ApiKeyStore {
  private readonly entries: StaticEntry[];

  constructor(keys: ReadonlyArray<{ secret: string; principal: Principal }>) {
    super();
    this.entries = keys.map(({ secret, principal }) => ({ digest: keyDigest(secret), principal }));
  }

  identify(secret: string): Promise<KeyLookup | null> {
    return Promise.resolve(this.find(secret));
  }

  private find(secret: string): KeyLookup | null {
    const digest = keyDigest(secret);
    let found: Principal | null = null;
    for (const entry of this.entries) {
      if (timingSafeEqual(entry.digest, digest) && found === null) found = entry.principal;
    }
    return found === null ? null : { principal: found };
  }
}

/** Asks each store in turn; the first that knows the key answers. */
export class ChainedKeyStore extends ApiKeyStore {
  constructor(private readonly stores: readonly ApiKeyStore[]) {
    super();
  }

  async identify(secret: string): Promise<KeyLookup | null> {
    for (const store of this.stores) {
      const found = await store.identify(secret);
      if (found !== null) return found;
    }
    return null;
  }
}
