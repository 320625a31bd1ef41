import { unservedModelMessage } from '../../src/core/llm/model-availability';
import { TargetPool } from '../../src/core/llm/routing/target-pool';
import { testTarget } from '../support/routing-targets';

describe('TargetPool catalogue', () => {
  const aliases = { default: 'fast', fast: 'llama3.2', coder: 'qwen2.5:32b', ghost: 'not-anywhere' };

  describe('resolve', () => {
    it('follows an alias to the model at the end of its chain; any other name is itself', () => {
      const pool = new TargetPool([testTarget('a')], 'priority', {}, aliases);
      expect(pool.resolve('default')).toBe('llama3.2');
      expect(pool.resolve('coder')).toBe('qwen2.5:32b');
      expect(pool.resolve('mistral')).toBe('mistral');
      // Names that are properties of every object are not aliases.
      expect(pool.resolve('constructor')).toBe('constructor');
    });
  });

  describe('knownModels', () => {
    it('is unknown while a target has not listed its models', () => {
      const pool = new TargetPool([testTarget('a', { models: ['mistral'] }), testTarget('b')], 'priority', {}, aliases);
      expect(pool.knownModels()).toBeNull();
    });

    it('is every model once, sorted, with the aliases whose model some target serves', () => {
      const a = testTarget('a', { models: ['mistral:latest', 'llama3.2:latest'] });
      const b = testTarget('b', { models: ['llama3.2:latest'] });
      const pool = new TargetPool([a, b], 'priority', {}, aliases);
      expect(pool.knownModels()).toEqual(['default', 'fast', 'llama3.2:latest', 'mistral:latest']);
      b.setModels(['qwen2.5:32b']);
      expect(pool.knownModels()).toEqual(['coder', 'default', 'fast', 'llama3.2:latest', 'mistral:latest', 'qwen2.5:32b']);
    });
  });
});

describe('unservedModelMessage', () => {
  it('names the model and what is on offer, at most 20 names', () => {
    expect(unservedModelMessage('nope', ['a', 'b'])).toBe('model "nope" not found on any model server; available: a, b');
    expect(unservedModelMessage('nope', [])).toBe('model "nope" not found: the model servers list no model');
    const many = Array.from({ length: 23 }, (_, index) => `m${String(index).padStart(2, '0')}`);
    expect(unservedModelMessage('nope', many)).toBe(`model "nope" not found on any model server; available: ${many.slice(0, 20).join(', ')} and 3 more`);
  });
});
