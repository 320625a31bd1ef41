import { TargetPool } from '../../src/core/llm/routing/target-pool';
import { busy, openBreaker, testTarget } from '../support/routing-targets';

describe(TargetPool.name, () => {
  describe('pick', () => {
    it('takes only a target that serves the model (a known list), or whose list is not known yet', () => {
      const a = testTarget('a', { models: ['qwen2.5:7b'] });
      const b = testTarget('b', { models: ['llama3.2'] });
      const unknown = testTarget('unknown');
      const pool = new TargetPool([a, b, unknown], 'priority');
      expect(pool.pick('llama3.2:latest')?.name).toBe('b');
      expect(pool.pick('qwen2.5:7b')?.name).toBe('a');
      expect(pool.pick('phi4')?.name).toBe('unknown');
      unknown.setModels(['mistral:latest']);
      expect(pool.pick('phi4')).toBeUndefined();
    });

    it('skips a draining target and one whose breaker is open', () => {
      const [a, b, c] = [testTarget('a'), testTarget('b'), testTarget('c')];
      const pool = new TargetPool([a, b, c], 'priority');
      a.draining = true;
      openBreaker(b);
      expect(pool.pick('mistral')?.name).toBe('c');
      openBreaker(c);
      expect(pool.pick('mistral')).toBeUndefined();
    });

    it('leaves out the targets already tried', () => {
      const [a, b] = [testTarget('a'), testTarget('b')];
      const pool = new TargetPool([a, b], 'priority');
      expect(pool.pick('mistral', new Set([a]))?.name).toBe('b');
      expect(pool.pick('mistral', new Set([a, b]))).toBeUndefined();
    });

    it('prefers a target with room over one at its max concurrency, whatever the strategy says', () => {
      const full = busy(testTarget('full', { maxConcurrency: 1 }), 1);
      full.setLoaded(['mistral:latest']);
      const roomy = busy(testTarget('roomy', { maxConcurrency: 4 }), 3);
      expect(new TargetPool([full, roomy], 'priority').pick('mistral')?.name).toBe('roomy');
      expect(new TargetPool([full, roomy], 'loaded-first').pick('mistral')?.name).toBe('roomy');
    });

    it('lets the strategy choose among all when every one is full (the servers queue it)', () => {
      const a = busy(testTarget('a', { maxConcurrency: 1 }), 2);
      const b = busy(testTarget('b', { maxConcurrency: 2 }), 2);
      expect(new TargetPool([a, b], 'least-busy').pick('mistral')?.name).toBe('b');
    });

    it('gives the same target while it is the only candidate, without asking the strategy', () => {
      const only = testTarget('only', { models: ['mistral'] });
      const pool = new TargetPool([testTarget('other', { models: ['llama3.2'] }), only], 'weighted');
      expect([pool.pick('mistral'), pool.pick('mistral')].map((target) => target?.name)).toEqual(['only', 'only']);
    });
  });

  describe('refuses', () => {
    it('refuses only when every serving target that is not draining has its breaker open', () => {
      const [a, b] = [testTarget('a'), testTarget('b')];
      const pool = new TargetPool([a, b], 'least-busy');
      openBreaker(a);
      expect(pool.refuses('mistral')).toBe(false);
      openBreaker(b);
      expect(pool.refuses('mistral')).toBe(true);
      expect(pool.breakerState()).toBe('open');
      expect(pool.retryAfterMs('mistral')).toBeGreaterThan(59_000);
    });

    it('does not refuse a model no target serves (that is a 404, not an open breaker)', () => {
      const a = testTarget('a', { models: ['llama3.2'] });
      openBreaker(a);
      expect(new TargetPool([a], 'least-busy').refuses('mistral')).toBe(false);
    });
  });
});
