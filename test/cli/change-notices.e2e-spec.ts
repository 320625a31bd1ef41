import { createClient } from 'redis';
import { runVega } from '../support/cli';
import { eventually } from '../support/eventually';
import { describeWithRedis, RedisServer } from '../support/redis-server';
import { startTestApp, tempDir, type TestApp } from '../support/test-app';

jest.setTimeout(180_000);

/**
 * `vega gen` and `vega keys` as real processes beside two running servers on one Redis: what the
 * CLI changes reaches both servers by the same change notice the HTTP routes send, and a Redis
 * that is down or does not answer costs the command a warning line, not a hang.
 */
describeWithRedis('change notices from the CLI (two instances, one Redis)', () => {
  let redis: RedisServer;
  let data: ReturnType<typeof tempDir>;
  const prefix = `cli-${Date.now()}:`;
  let a: TestApp;
  let b: TestApp;
  const env = () => ({ VEGA_DATA_DIR: data.dir, REDIS_URL: redis.url, REDIS_PREFIX: prefix, REDIS_TIMEOUT_MS: '300', ...a.databaseEnv });
  const vega = (args: string[]) => runVega(args, { env: env() });

  beforeAll(async () => {
    redis = await RedisServer.start();
    data = tempDir('vega-cli-notices-');
    a = await startTestApp({ VEGA_DATA_DIR: data.dir, REDIS_URL: redis.url, REDIS_PREFIX: prefix });
    b = await startTestApp({ VEGA_DATA_DIR: data.dir, REDIS_URL: redis.url, REDIS_PREFIX: prefix });
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
    await redis.stop();
    data.remove();
  });

  const temperatureOf = async (app: TestApp) => (await (await app.request('/admin/gen')).json()).temperature as number;

  it('vega gen set and reset reach both running servers within 1 s', async () => {
    const set = await vega(['gen', 'set', 'temperature=1.25']);
    expect(set).toMatchObject({ code: 0, stderr: '' });
    const done = Date.now();
    for (const app of [a, b]) expect(await eventually(() => temperatureOf(app), (value) => value === 1.25, 1_000, 10)).toBe(1.25);
    expect(Date.now() - done).toBeLessThan(1_000);

    expect((await vega(['gen', 'reset'])).code).toBe(0);
    const defaults = a.config.generation.temperature;
    for (const app of [a, b]) expect(await eventually(() => temperatureOf(app), (value) => value === defaults, 1_000, 10)).toBe(defaults);
  });

  it('vega keys create, update, rotate and revoke each send the keys notice; the revoked key is refused by both servers', async () => {
    const listener = createClient({ url: redis.url });
    await listener.connect();
    const topics: string[] = [];
    await listener.subscribe(`${prefix}changes`, (message) => void topics.push((JSON.parse(message) as { topic: string }).topic));
    try {
      const created = await vega(['keys', 'create', 'cli-notices', '--scopes', 'chat', '--json']);
      expect(created.code).toBe(0);
      const { id } = JSON.parse(created.stdout) as { id: string };
      expect((await vega(['keys', 'update', id, '--name', 'cli-notices-2'])).code).toBe(0);
      const rotated = await vega(['keys', 'rotate', id, '--json']);
      expect(rotated.code).toBe(0);
      const { secret } = JSON.parse(rotated.stdout) as { secret: string };
      for (const app of [a, b]) expect((await app.request('/me', { key: secret })).status).toBe(200); // cached by both
      const revoked = await vega(['keys', 'revoke', id]);
      expect(revoked).toMatchObject({ code: 0, stderr: '' });
      for (const app of [a, b]) expect((await app.request('/me', { key: secret })).status).toBe(401);
      expect(await eventually(async () => topics, (seen) => seen.length >= 4, 1_000, 10)).toEqual(['keys', 'keys', 'keys', 'keys']);
    } finally {
      await listener.quit();
    }
  });

  it('finishes with a warning line when Redis does not answer (paused), and when it is down (killed)', async () => {
    redis.pause();
    try {
      const started = Date.now();
      const paused = await vega(['gen', 'set', 'temperature=0.75']);
      expect(paused.code).toBe(0);
      expect(paused.stderr).toBe('warning: Redis (REDIS_URL) did not take the change notice: running servers keep their generation settings until they restart\n');
      expect(Date.now() - started).toBeLessThan(30_000);
    } finally {
      redis.resume();
    }
    await redis.kill();
    const down = await vega(['keys', 'create', 'while-down', '--scopes', 'chat']);
    expect(down.code).toBe(0);
    expect(down.stderr).toMatch(/^warning: Redis \(REDIS_URL\) did not take the change notice: running servers see it within 0\.5 s/m);
    expect(down.stderr).not.toContain(redis.url);
  });
});
