import { strategyOf } from '../../src/core/llm/routing/strategies';
import type { Target } from '../../src/core/llm/routing/target';
import { busy, testTarget } from '../support/routing-targets';

/** How many of `picks` went to each target, by name. */
function shares(targets: readonly Target[], picks: number, model = 'mistral'): Record<string, number> {
  const pick = strategyOf('weighted');
  const counts: Record<string, number> = Object.fromEntries(targets.map((target) => [target.name, 0]));
  for (let index = 0; index < picks; index += 1) counts[pick(targets, model).name] += 1;
  return counts;
}

describe('routing strategies', () => {
  describe('priority', () => {
    it('always takes the first in configuration order, however busy', () => {
      const targets = [busy(testTarget('a', { maxConcurrency: 1 }), 5), testTarget('b')];
      expect(strategyOf('priority')(targets, 'mistral').name).toBe('a');
    });
  });

  describe('least-busy', () => {
    it('takes the fewest in flight relative to max concurrency, not the fewest in flight', () => {
      const big = busy(testTarget('big', { maxConcurrency: 8 }), 3);
      const small = busy(testTarget('small', { maxConcurrency: 1 }), 1);
      expect(strategyOf('least-busy')([small, big], 'mistral').name).toBe('big');
    });

    it('gives a tie to the earlier target', () => {
      const targets = [busy(testTarget('a', { maxConcurrency: 2 }), 1), busy(testTarget('b', { maxConcurrency: 4 }), 2)];
      expect(strategyOf('least-busy')(targets, 'mistral').name).toBe('a');
    });
  });

  describe('loaded-first', () => {
    it('prefers a busier target that has the model in memory', () => {
      const idle = testTarget('idle');
      const loaded = busy(testTarget('loaded', { maxConcurrency: 4 }), 2);
      loaded.setLoaded(['llama3.2:latest']);
      expect(strategyOf('loaded-first')([idle, loaded], 'llama3.2').name).toBe('loaded');
    });

    it('takes the least busy of the targets that have it loaded', () => {
      const a = busy(testTarget('a', { maxConcurrency: 2 }), 2);
      const b = busy(testTarget('b', { maxConcurrency: 2 }), 1);
      const c = testTarget('c');
      a.setLoaded(['mistral']);
      b.setLoaded(['mistral:latest']);
      expect(strategyOf('loaded-first')([a, b, c], 'mistral:latest').name).toBe('b');
    });

    it('falls back to the least busy when no target has it loaded', () => {
      const a = busy(testTarget('a', { maxConcurrency: 2 }), 1);
      const b = testTarget('b', { maxConcurrency: 2 });
      a.setLoaded(['qwen2.5:7b']);
      expect(strategyOf('loaded-first')([a, b], 'mistral').name).toBe('b');
    });

    it('counts a model an answer just came from as loaded until the next poll', () => {
      const a = testTarget('a');
      const b = testTarget('b');
      b.markLoaded('mistral');
      expect(strategyOf('loaded-first')([a, b], 'mistral:latest').name).toBe('b');
      b.setLoaded([]);
      expect(strategyOf('loaded-first')([a, b], 'mistral').name).toBe('a');
    });
  });

  describe('weighted', () => {
    it('gives each target its share of the weights', () => {
      const targets = [testTarget('a', { weight: 3 }), testTarget('b', { weight: 1 }), testTarget('c', { weight: 0.5 })];
      expect(shares(targets, 900)).toEqual({ a: 600, b: 200, c: 100 });
    });

    it('spreads the picks (smooth: no burst of the heavy target)', () => {
      const targets = [testTarget('a', { weight: 5 }), testTarget('b', { weight: 1 }), testTarget('c', { weight: 1 })];
      const pick = strategyOf('weighted');
      const order = Array.from({ length: 7 }, () => pick(targets, 'mistral').name).join('');
      expect(order).toBe('aabacaa');
    });

    it('keeps the shares when the candidates change between picks (a target skipped while full)', () => {
      const a = testTarget('a', { weight: 1 });
      const b = testTarget('b', { weight: 1 });
      const pick = strategyOf('weighted');
      const names = [pick([a, b], 'm'), pick([b], 'm'), pick([a, b], 'm'), pick([a, b], 'm')].map((target) => target.name);
      expect(names.filter((name) => name === 'a')).toHaveLength(2);
    });
  });
});
