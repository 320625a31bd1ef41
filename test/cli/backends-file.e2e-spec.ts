import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureBuilt, finished, ROOT, runVega } from '../support/cli';
import { tempDir } from '../support/test-app';

jest.setTimeout(120_000);

const SECRET = 'sk-never-shown-0123456789';

/** A bad BACKENDS_FILE keeps the server from starting, as any configuration error does (exit 1), naming every problem. */
describe('vega serve with a bad BACKENDS_FILE', () => {
  let data: ReturnType<typeof tempDir>;
  let file: string;

  beforeAll(() => ensureBuilt());
  beforeEach(() => {
    data = tempDir('vega-backends-cli-');
    file = join(data.dir, 'backends.yaml');
    writeFileSync(
      file,
      [
        'strategy: fastest',
        'targets:',
        `  - { name: gpu-1, kind: openai, url: "http://127.0.0.1:9/v1", api_key: ${SECRET}, wieght: 2 }`,
        '  - { name: gpu-1, kind: ollama, url: "http://127.0.0.1:9" }',
        'aliases: { a: b, b: a }',
      ].join('\n'),
    );
  });
  afterEach(() => data.remove());

  const problems = [
    'strategy: must be one of loaded-first, least-busy, weighted, priority',
    'targets[0].wieght: unknown key',
    "targets[1].name: 'gpu-1' is used by an earlier target",
    'aliases.a: loops (a → b → a)',
    'aliases.b: loops (b → a → b)',
  ].join('; ');

  it('`vega serve` refuses to start: exit 1 and one line naming every problem, never the key', async () => {
    const result = await runVega(['serve'], { built: true, env: { VEGA_DATA_DIR: data.dir, BACKENDS_FILE: file, PORT: '0' } });
    expect(result).toMatchObject({ code: 1, stdout: '', stderr: `vega: Invalid configuration: BACKENDS_FILE ${file} is invalid: ${problems}\n` });
    expect(result.stderr).not.toContain(SECRET);
  });

  it('the server entry (npm start) refuses to start the same way, in its JSON log line', async () => {
    const child = spawn(process.execPath, [join(ROOT, 'dist/src/main.js')], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', VEGA_DATA_DIR: data.dir, BACKENDS_FILE: file, PORT: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const result = await finished(child);
    expect(result.code).toBe(1);
    const line = JSON.parse((result.stdout + result.stderr).trim().split('\n').at(-1)!);
    expect(line).toMatchObject({ level: 60, msg: `Vega failed to start: Invalid configuration: BACKENDS_FILE ${file} is invalid: ${problems}` });
    expect(result.stdout + result.stderr).not.toContain(SECRET);
  });
});
