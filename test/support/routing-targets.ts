import type { TargetSettings } from '../../src/config/routing-settings';
import { OllamaBackend } from '../../src/core/llm/backends/ollama/ollama.backend';
import { Target } from '../../src/core/llm/routing/target';

/**
 * A target for routing unit tests: a real Ollama adapter for an address nothing listens on
 * (routing never calls it), its own breaker (opens after 1 failure, for 60 s).
 */
export function testTarget(name: string, settings: Partial<TargetSettings> = {}): Target {
  const url = 'http://127.0.0.1:9';
  return new Target({ name, kind: 'ollama', url, weight: 1, maxConcurrency: 0, ...settings }, new OllamaBackend(url), { failThreshold: 1, resetMs: 60_000 });
}

/** Opens the target's breaker (one failed call). */
export function openBreaker(target: Target): void {
  target.breaker.acquire()?.failure();
}

/** `count` requests in flight on the target (as if sent). */
export function busy(target: Target, count: number): Target {
  for (let index = 0; index < count; index += 1) target.begin();
  return target;
}
