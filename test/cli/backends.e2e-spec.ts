import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FakeOllama } from '../support/fake-ollama';
import { ANSI, runVega } from '../support/cli';
import { startTestApp, tempDir, TEST_API_KEY, type TestApp } from '../support/test-app';
import { freePort } from '../support/vega-process';

jest.setTimeout(60_000);

// `vega backends` asks the running server: in flight, breakers and draining live in that process.
describe('vega backends', () => {
  const gpu1 = new FakeOllama({ models: ['mistral'] });
  const gpu2 = new FakeOllama({ models: ['mistral'] });
  let data: ReturnType<typeof tempDir>;
  let t: TestApp;
  let file: string;
  const vega = (args: string[], port: string | number = new URL(t.url).port) =>
    runVega(['backends', ...args], { env: { VEGA_DATA_DIR: data.dir, HOST: '127.0.0.1', PORT: String(port), API_KEY: TEST_API_KEY } });

  beforeAll(async () => {
    await Promise.all([gpu1.start(), gpu2.start()]);
    data = tempDir('vega-cli-backends-');
    file = join(data.dir, 'backends.yaml');
    writeFileSync(
      file,
      ['strategy: priority', 'targets:', `  - { name: gpu-1, kind: ollama, url: "${gpu1.url}", max_concurrency: 4 }`, `  - { name: gpu-2, kind: ollama, url: "${gpu2.url}" }`].join('\n'),
    );
    t = await startTestApp({ BACKENDS_FILE: file, HEALTH_PROBE_SECONDS: '0.1', CACHE_TTL_SECONDS: '0' });
    expect((await t.request('/chat', { body: { prompt: 'hello' } })).status).toBe(200);
  });
  afterAll(async () => {
    await t?.close();
    await Promise.all([gpu1.stop(), gpu2.stop()]);
    data.remove();
  });

  it('prints every target as a table, plain when piped', async () => {
    const result = await vega([]);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).not.toMatch(ANSI);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^NAME\s+KIND\s+HEALTH\s+BREAKER\s+IN FLIGHT\s+QUEUED\s+P50 MS\s+REQUESTS\s+ERRORS\s+LOADED$/);
    expect(lines[1]).toMatch(/^gpu-1\s+ollama\s+(up|unknown)\s+closed\s+0\/4\s+0\s+\d+\s+1\s+0\s+mistral(:latest)?$/);
    expect(lines[2]).toMatch(/^gpu-2\s+ollama\s+(up|unknown)\s+closed\s+0\/∞\s+0\s+-\s+0\s+0\s+-$/);
    expect(lines[3]).toBe('Strategy: priority');
  });

  it('prints the API’s JSON with --json', async () => {
    const result = await vega(['--json']);
    expect(result.code).toBe(0);
    const body = JSON.parse(result.stdout);
    const api = await (await t.request('/admin/backends')).json();
    // The same document, but for the probe's time, which moves on between the two reads.
    const untimed = (list: { backends: { checked_at: unknown }[] }) => ({ ...list, backends: list.backends.map((backend) => ({ ...backend, checked_at: null })) });
    expect(untimed(body)).toEqual(untimed(api));
    expect(body.strategy).toBe('priority');
    expect(body.backends.map((backend: { name: string }) => backend.name)).toEqual(['gpu-1', 'gpu-2']);
  });

  it('drain and resume change the running server', async () => {
    const drained = await vega(['drain', 'gpu-1']);
    expect(drained).toMatchObject({ code: 0, stderr: '' });
    expect(drained.stdout).toBe('draining  gpu-1: nothing new is sent to it; 0 in flight finishing (vega backends resume gpu-1 to undo)\n');
    const before = gpu2.requests.filter((request) => request.path === '/api/chat').length;
    expect((await t.request('/chat', { body: { prompt: 'to gpu-2' } })).status).toBe(200);
    expect(gpu2.requests.filter((request) => request.path === '/api/chat').length).toBe(before + 1);

    const resumed = await vega(['resume', 'gpu-1', '--json']);
    expect(resumed.code).toBe(0);
    expect(JSON.parse(resumed.stdout)).toMatchObject({ name: 'gpu-1', draining: false });
    expect((await (await t.request('/admin/backends')).json()).backends[0].draining).toBe(false);
  });

  it('fails with exit 1 and one line for an unknown name, and when no server answers', async () => {
    const unknown = await vega(['drain', 'gpu-9']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toBe("vega: the server refused: no model server named 'gpu-9'; there are: gpu-1, gpu-2\n");

    const closed = await freePort();
    const down = await vega([], closed);
    expect(down.code).toBe(1);
    expect(down.stderr).toBe(`vega: no Vega server answers at http://127.0.0.1:${closed}/admin/backends (ECONNREFUSED); is it running (vega serve)?\n`);
  });

  it('reload applies the file on the running server, and refuses one with problems (exit 1, each named)', async () => {
    const original = readFileSync(file, 'utf8');
    try {
      writeFileSync(file, ['targets:', '  - { name: gpu-1, kind: ollama, url: "ftp://x", weight: 0 }'].join('\n'));
      const refused = await vega(['reload']);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/^vega: the server refused: BACKENDS_FILE \S+ is invalid: targets\[0\]\.url: must be an http:\/\/ or https:\/\/ URL; targets\[0\]\.weight: must be above 0; the model servers in use stay as they were\n$/);

      writeFileSync(file, ['strategy: least-busy', 'targets:', `  - { name: gpu-1, kind: ollama, url: "${gpu1.url}", max_concurrency: 2 }`].join('\n'));
      const reloaded = await vega(['reload']);
      expect(reloaded).toMatchObject({ code: 0, stderr: '' });
      expect(reloaded.stdout).toBe(`reloaded  ${file}: removed gpu-2; changed gpu-1\nTargets: gpu-1 (strategy least-busy)\n`);
      const list = JSON.parse((await vega(['--json'])).stdout);
      expect(list).toMatchObject({ strategy: 'least-busy', backends: [{ name: 'gpu-1', max_concurrency: 2 }] });
    } finally {
      writeFileSync(file, original);
      expect((await vega(['reload', '--json'])).code).toBe(0);
    }
  });

  it('refuses a missing name as a usage error (exit 2)', async () => {
    const result = await vega(['drain']);
    expect(result.code).toBe(2);
  });
});
