import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { finished, ROOT, spawnVega, VegaResult } from '../support/cli';
import { eventually } from '../support/eventually';
import { FakeOllama } from '../support/fake-ollama';
import { tempDir } from '../support/test-app';
import { freePort } from '../support/vega-process';

jest.setTimeout(120_000);

const API_KEY = 'hangup-test-key-0123456789abcdef';
const REGISTER = require.resolve('@swc-node/register');

/**
 * SIGHUP to `vega serve`: without a terminal (systemd, containers) it reads the backends file
 * again and keeps serving; on a terminal (here a pty made by `script`) it means the terminal
 * closed, and the server stops gracefully as on SIGTERM.
 */
describe('vega serve and SIGHUP', () => {
  const gpu1 = new FakeOllama({ models: ['mistral'] });
  const gpu2 = new FakeOllama({ models: ['mistral'] });
  let data: ReturnType<typeof tempDir>;
  let file: string;
  let port: number;

  beforeAll(async () => {
    await Promise.all([gpu1.start(), gpu2.start()]);
  });
  afterAll(async () => {
    await Promise.all([gpu1.stop(), gpu2.stop()]);
  });
  beforeEach(async () => {
    data = tempDir('vega-hangup-');
    file = join(data.dir, 'backends.yaml');
    writeFileSync(file, ['targets:', `  - { name: gpu-1, kind: ollama, url: "${gpu1.url}" }`].join('\n'));
    port = await freePort();
  });
  afterEach(() => data.remove());

  const env = () => ({ VEGA_DATA_DIR: data.dir, BACKENDS_FILE: file, OLLAMA_URL: gpu1.url, HOST: '127.0.0.1', PORT: String(port), API_KEY, LOG_LEVEL: 'info' });
  const url = (path: string) => `http://127.0.0.1:${port}${path}`;
  const serving = () => fetch(url('/healthz')).then((res) => res.ok, () => false);
  const targets = async () =>
    ((await (await fetch(url('/admin/backends'), { headers: { authorization: `Bearer ${API_KEY}` } })).json()) as { backends: { name: string }[] }).backends.map((backend) => backend.name);

  it('without a terminal: reloads the backends file and keeps serving', async () => {
    const child = spawnVega(['serve'], { env: env() });
    const result = finished(child);
    try {
      expect(await eventually(serving, (up) => up, 60_000)).toBe(true);
      expect(await targets()).toEqual(['gpu-1']);
      writeFileSync(file, ['targets:', `  - { name: gpu-1, kind: ollama, url: "${gpu1.url}" }`, `  - { name: gpu-2, kind: ollama, url: "${gpu2.url}" }`].join('\n'));
      child.kill('SIGHUP');
      expect(await eventually(targets, (names) => names.length === 2, 10_000)).toEqual(['gpu-1', 'gpu-2']);
      expect(child.exitCode).toBeNull();
      expect(await serving()).toBe(true);
    } finally {
      child.kill('SIGTERM');
    }
    const ended: VegaResult = await result;
    expect(ended.code).toBe(0);
    expect(ended.stdout).toContain('BACKENDS_FILE reloaded: added gpu-2');
    expect(ended.stdout).not.toContain('Received SIGHUP');
  });

  it('on a terminal: a hang-up stops the server gracefully (exit 0), the backends file is not read again', async () => {
    // `script` runs the command on a new pty: stdin and stdout of `vega serve` are a terminal.
    const command = `echo "pid=$$"; exec "${process.execPath}" -r "${REGISTER}" src/cli.ts serve`;
    const child = spawn('script', ['-qec', command, '/dev/null'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', SWC_NODE_PROJECT: join(ROOT, 'tsconfig.json'), ...env() },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const result = finished(child);
    let output = '';
    child.stdout!.on('data', (chunk: string) => (output += chunk));
    let pid = 0;
    try {
      expect(await eventually(serving, (up) => up, 60_000)).toBe(true);
      pid = Number(/pid=(\d+)/.exec(output)?.[1]);
      expect(pid).toBeGreaterThan(0);
      writeFileSync(file, ['targets:', `  - { name: gpu-1, kind: ollama, url: "${gpu1.url}" }`, `  - { name: gpu-2, kind: ollama, url: "${gpu2.url}" }`].join('\n'));
      process.kill(pid, 'SIGHUP');
      let timer: NodeJS.Timeout | undefined;
      const stillServing = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`still serving 30 s after SIGHUP: ${output}`)), 30_000)));
      const ended = await Promise.race([result, stillServing]).finally(() => clearTimeout(timer));
      expect(ended.code).toBe(0);
      expect(ended.stdout).toContain('Received SIGHUP: shutting down');
      expect(ended.stdout).toContain('Shutdown complete');
      expect(ended.stdout).not.toContain('BACKENDS_FILE reloaded');
      expect(await serving()).toBe(false);
    } finally {
      // A server that outlived the test must not linger (killing `script` alone would leave it running).
      for (const each of [pid, child.pid]) {
        try {
          if (each) process.kill(each, 'SIGKILL');
        } catch {
          // Already gone.
        }
      }
    }
  });
});
