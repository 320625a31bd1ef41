import { loadConfig } from '../../src/config/app-config';
import { LoadedModels } from '../../src/core/llm/routing/loaded-models';
import { poolFromConfig } from '../../src/core/llm/routing/pool-from-config';
import type { TargetPool } from '../../src/core/llm/routing/target-pool';
import { eventually } from '../support/eventually';
import { FakeOllama } from '../support/fake-ollama';
import { tempDir } from '../support/test-app';

/** What `loaded-first` knows of each Ollama target, from its `/api/ps`. */
describe(LoadedModels.name, () => {
  const data = tempDir();
  let cold: FakeOllama;
  let warm: FakeOllama;
  let pool: TargetPool;

  beforeEach(async () => {
    [cold, warm] = [new FakeOllama({ models: ['mistral', 'llama3.2'] }), new FakeOllama({ models: ['mistral', 'llama3.2'] })];
    await Promise.all([cold.start(), warm.start()]);
    await fetch(`${warm.url}/api/generate`, { method: 'POST', body: JSON.stringify({ model: 'mistral' }) });
  });

  afterEach(async () => {
    await pool?.close();
    await Promise.all([cold.stop(), warm.stop()]);
  });

  afterAll(() => data.remove());

  function loadedModels(env: Record<string, string> = {}): LoadedModels {
    const config = loadConfig({ VEGA_DATA_DIR: data.dir, OLLAMA_URL: `${cold.url},${warm.url}`, LOADED_POLL_SEC: '3600', ...env });
    pool = poolFromConfig(config);
    return new LoadedModels(pool, config);
  }

  it("sets each target's loaded models from its /api/ps", async () => {
    await loadedModels().poll();
    expect(pool.targets.map((target) => target.loadedModels)).toEqual([[], ['mistral:latest']]);
  });

  it('forgets what a target had loaded once it cannot be reached (a restarted Ollama starts empty)', async () => {
    const poller = loadedModels();
    await poller.poll();
    await warm.stop();
    await poller.poll();
    expect(pool.targets[1].loadedModels).toEqual([]);
  });

  it('polls at start and every LOADED_POLL_SEC only with several targets under loaded-first', async () => {
    const polls = () => warm.requests.filter((request) => request.path === '/api/ps').length;
    const idle = loadedModels({ ROUTING_STRATEGY: 'least-busy', LOADED_POLL_SEC: '0.1' });
    idle.onApplicationBootstrap();
    await new Promise((resolve) => setTimeout(resolve, 350));
    idle.onApplicationShutdown();
    expect(polls()).toBe(0);
    await pool.close();
    const busy = loadedModels({ LOADED_POLL_SEC: '0.1' });
    busy.onApplicationBootstrap();
    const seen = await eventually(async () => polls(), (count) => count >= 3);
    busy.onApplicationShutdown();
    expect(seen).toBeGreaterThanOrEqual(3);
    expect(pool.targets[1].loadedModels).toEqual(['mistral:latest']);
  });
});
