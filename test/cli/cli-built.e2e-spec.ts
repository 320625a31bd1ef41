import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../../bench/processes';
import { FakeOllama } from '../support/fake-ollama';
import { queryDb } from '../support/sqlite';
import { tempDir } from '../support/test-app';
import { ensureBuilt, finished, ROOT, runVega, spawnVega } from '../support/cli';

jest.setTimeout(120_000);

/** The installed command: `bin/vega.js` (package.json `bin`) over the build in `dist/`. */
describe('the built vega bin', () => {
  const fake = new FakeOllama();
  let data: ReturnType<typeof tempDir>;

  beforeAll(async () => {
    ensureBuilt();
    await fake.start();
  });
  afterAll(async () => {
    await fake.stop();
  });
  beforeEach(() => {
    data = tempDir('vega-bin-');
  });
  afterEach(() => data.remove());

  it('is the package bin and prints the version', async () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    expect(pkg.bin).toEqual({ vega: 'bin/vega.js' });
    const result = await runVega(['--version'], { built: true });
    expect(result).toMatchObject({ code: 0, stdout: `${pkg.version}\n` });
  });

  it('chats and lists the history against the fake backend', async () => {
    const env = { VEGA_DATA_DIR: data.dir, OLLAMA_URL: fake.url };
    const chat = await runVega(['chat', 'from', 'the', 'bin'], { built: true, env });
    expect(chat).toMatchObject({ code: 0, stdout: 'Echo: from the bin\n', stderr: '' });
    const history = await runVega(['history', '--json'], { built: true, env });
    expect(JSON.parse(history.stdout).items).toEqual([expect.objectContaining({ prompt: 'from the bin', source: 'cli' })]);
  });

  it('serve starts the HTTP API (the same code as npm start) and stops on SIGTERM', async () => {
    const port = await freePort();
    const env = { VEGA_DATA_DIR: data.dir, OLLAMA_URL: fake.url, PORT: String(port), API_KEY: 'serve-test-key-0123456789' };
    const child = spawnVega(['serve'], { built: true, env });
    const done = finished(child);
    const url = `http://127.0.0.1:${port}`;
    for (let i = 0; ; i++) {
      const ok = await fetch(`${url}/healthz`).then((res) => res.ok, () => false);
      if (ok) break;
      if (i > 300) throw new Error('vega serve did not start');
      await new Promise((wait) => setTimeout(wait, 100));
    }
    const res = await fetch(`${url}/chat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': env.API_KEY },
      body: JSON.stringify({ prompt: 'over http' }),
    });
    expect(res.status).toBe(200);
    expect(await queryDb(join(data.dir, 'vega.db'), 'SELECT source FROM conversations')).toEqual([{ source: 'api' }]);
    child.kill('SIGTERM');
    const result = await done;
    expect(result.code === 0 || result.signal === 'SIGTERM').toBe(true);
  });
});
