import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FakeOllama } from '../support/fake-ollama';
import { tempDir } from '../support/test-app';
import { freePort, VegaProcess } from '../support/vega-process';

const ROOT = join(__dirname, '..', '..');

/** Every line of `text` parsed as JSON (fails on the first line that is not). */
function jsonLines(text: string): Array<Record<string, unknown>> {
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      try {
        return JSON.parse(line) as Record<string, unknown>;
      } catch {
        throw new Error(`not a JSON line: ${line}`);
      }
    });
}

/** A directory this process cannot create files in: a read-only directory, or for root (who ignores modes) /sys. */
function unwritableDirectory(parent: string): string {
  const dir = join(parent, 'read-only');
  mkdirSync(dir);
  chmodSync(dir, 0o500);
  try {
    writeFileSync(join(dir, 'probe'), '');
  } catch {
    return dir;
  }
  return '/sys';
}

describe('a failed start (the real process, stdout a pipe, NODE_ENV=production)', () => {
  const temp = tempDir('vega-start-');
  let vega: VegaProcess;

  beforeEach(() => {
    vega = new VegaProcess();
  });
  afterEach(() => vega.dispose());
  afterAll(() => {
    chmodSync(temp.dir, 0o700);
    spawnSync('chmod', ['-R', 'u+w', temp.dir]);
    temp.remove();
  });

  const fileInTheWay = join(temp.dir, 'a-file');
  writeFileSync(fileInTheWay, 'not a directory');

  it.each([
    ['is a regular file', () => fileInTheWay, 'it is a file, not a directory'],
    ['lies under a regular file', () => join(fileInTheWay, 'data'), 'a part of the path is a file, not a directory'],
    ['cannot be written', () => unwritableDirectory(temp.dir), 'permission denied'],
  ])('exits 1 with one JSON line naming the path and the cause when the data directory %s', async (_case, dataDir, cause) => {
    const dir = dataDir();
    await vega.spawn({ NODE_ENV: 'production', VEGA_DATA_DIR: dir, OLLAMA_URL: 'http://127.0.0.1:9' });
    expect(await vega.exited()).toEqual({ code: 1, signal: null });
    expect(vega.stderr).toBe('');
    expect(jsonLines(vega.stdout)).toEqual([
      { level: 60, time: expect.any(String), pid: expect.any(Number), msg: `Vega failed to start: cannot use the data directory ${dir} (VEGA_DATA_DIR): ${cause}` },
    ]);
  });

  it('logs an invalid variable as a JSON line too', async () => {
    await vega.spawn({ NODE_ENV: 'production', PORT: 'eighty' });
    expect(await vega.exited()).toEqual({ code: 1, signal: null });
    expect(vega.stderr).toBe('');
    const lines = jsonLines(vega.stdout);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 60, msg: expect.stringMatching(/^Vega failed to start: .*PORT/) });
  });

  it('logs an unreadable database as JSON lines, from the first line', async () => {
    writeFileSync(vega.dbPath, 'this is not an SQLite database, but it is long enough to be read as one '.repeat(100));
    await vega.spawn({ NODE_ENV: 'production', OLLAMA_URL: 'http://127.0.0.1:9' });
    expect(await vega.exited()).toEqual({ code: 1, signal: null });
    expect(vega.stderr).toBe('');
    const lines = jsonLines(vega.stdout);
    expect(lines.at(-1)).toMatchObject({ level: 60, msg: expect.stringMatching(/^Vega failed to start: .*(SQLITE_NOTADB|corrupt)/) });
  });
});

describe('the start of the server (stdout a pipe: JSON lines)', () => {
  const fake = new FakeOllama({ models: ['llama3.2', 'qwen2.5:7b'] });
  let vega: VegaProcess;

  beforeAll(() => fake.start());
  afterAll(() => fake.stop());
  beforeEach(() => {
    vega = new VegaProcess();
  });
  afterEach(() => vega.dispose());

  it('keeps route mapping at debug and ends with one info line of where everything is, and warns about a missing model', async () => {
    await vega.start({ OLLAMA_URL: fake.url, LOG_LEVEL: 'info', HEALTH_PROBE_SECONDS: '60' });
    vega.signal('SIGTERM');
    await vega.exited();
    expect(vega.stderr).toBe('');
    const lines = jsonLines(vega.stdout);
    const contexts = new Set(lines.map((line) => line.context));
    for (const chatter of ['InstanceLoader', 'RoutesResolver', 'RouterExplorer']) expect(contexts.has(chatter)).toBe(false);
    expect(lines.length).toBeLessThan(15);
    const message = 'model "mistral" is not on the backend; pull it (ollama pull mistral) or set MODEL_NAME to one of: llama3.2:latest, qwen2.5:7b';
    expect(lines).toContainEqual(expect.objectContaining({ level: 40, msg: message, model: 'mistral', models: ['llama3.2:latest', 'qwen2.5:7b'] }));
    expect(lines).toContainEqual({
      level: 30,
      time: expect.any(String),
      pid: expect.any(Number),
      url: vega.url,
      ui: `${vega.url}/`,
      docs: `${vega.url}/docs`,
      key_source: 'env',
      key_file: null,
      backend: 'ollama',
      backend_urls: fake.url,
      model: 'mistral',
      model_status: 'missing',
      msg: `Vega is listening on ${vega.url} (web UI at /, docs at /docs); API key from API_KEY`,
    });
  });

  it('logs the route mapping at LOG_LEVEL=debug', async () => {
    await vega.start({ OLLAMA_URL: fake.url, LOG_LEVEL: 'debug', HEALTH_PROBE_SECONDS: '60' });
    vega.signal('SIGTERM');
    await vega.exited();
    expect(jsonLines(vega.stdout)).toContainEqual(expect.objectContaining({ level: 20, context: 'RouterExplorer', msg: 'Mapped {/chat, POST} route' }));
  });
});

const hasScript = spawnSync('script', ['--version']).status === 0;

/**
 * `npm start` on a terminal: `script` (util-linux) gives the process a pseudo-terminal as stdout,
 * so the real TTY path runs (pretty lines, then the banner).
 */
async function startOnTerminal(dataDir: string, ollamaUrl: string): Promise<string> {
  const port = await freePort();
  const child = spawn('script', ['-qec', `${JSON.stringify(process.execPath)} -r @swc-node/register src/main.ts`, '/dev/null'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', TERM: 'xterm', VEGA_DATA_DIR: dataDir, HOST: '127.0.0.1', PORT: String(port), OLLAMA_URL: ollamaUrl, HEALTH_PROBE_SECONDS: '60' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const exited = once(child, 'exit');
  const deadline = Date.now() + 30_000;
  // The banner is the last thing printed; its last line is the model problem.
  while (!output.includes('! model') && Date.now() < deadline && child.exitCode === null) await new Promise((resolve) => setTimeout(resolve, 50));
  // Ctrl-C on the terminal: the graceful shutdown.
  child.stdin.write('\x03');
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
  return output.replace(/\r/g, '');
}

(hasScript ? describe : describe.skip)('the start of the server on a terminal (a pseudo-terminal from `script`)', () => {
  const fake = new FakeOllama({ models: ['llama3.2'] });
  const data = tempDir('vega-tty-');

  beforeAll(() => fake.start());
  afterAll(async () => {
    await fake.stop();
    data.remove();
  });

  it('prints a short banner last: URL, key (only when just generated) and its file, UI and docs, the model problem', async () => {
    const first = await startOnTerminal(data.dir, fake.url);
    const key = readFileSync(join(data.dir, 'api-key'), 'utf8').trim();
    const url = /Vega is listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(first)?.[1];
    expect(url).toBeDefined();
    const banner = first.slice(first.indexOf(`Vega is listening on ${url}`));
    expect(banner).toContain(`stored in ${join(data.dir, 'api-key')}, mode 0600`);
    expect(banner).toContain(key);
    expect(banner).toContain(`Web UI    ${url}/`);
    expect(banner).toContain(`API docs  ${url}/docs`);
    expect(banner).toContain('! model "mistral" is not on the backend; pull it (ollama pull mistral) or set MODEL_NAME to one of: llama3.2:latest');
    // Nothing was logged after the banner but the shutdown (Ctrl-C), and the key appears only in it.
    expect(first.split(key)).toHaveLength(2);
    expect(first).not.toContain('RouterExplorer');
    expect(first).not.toContain('Mapped {');
    expect(first.slice(0, first.indexOf('Vega is listening on')).split('\n').length).toBeLessThan(20);

    const second = await startOnTerminal(data.dir, fake.url);
    expect(second).toContain(`API key   in ${join(data.dir, 'api-key')}`);
    expect(second).not.toContain(key);
  });
});
