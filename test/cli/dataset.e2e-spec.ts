import { execFile } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { tempDir } from '../support/test-app';
import { ROOT, runVega } from '../support/cli';

jest.setTimeout(120_000);

let temp: ReturnType<typeof tempDir>;
let input: string;
const vega = (args: string[]) => runVega(args, { env: { VEGA_DATA_DIR: join(temp.dir, 'data') } });
const jsonLines = (text: string) => text.trim().split('\n').filter(Boolean).map((line) => JSON.parse(line));

beforeEach(() => {
  temp = tempDir('vega-dataset-cli-');
  input = join(temp.dir, 'in');
  mkdirSync(join(input, 'nested/deeper'), { recursive: true });
  writeFileSync(join(input, 'a.jsonl'), '{"prompt":"p1","response":"r1"}\n{broken\n');
  writeFileSync(join(input, 'nested/b.csv'), 'prompt,response\n"with, comma","two\nlines"\n');
  writeFileSync(join(input, 'nested/deeper/c.md'), '### Question\nq3\n### Answer\nr3\n');
  writeFileSync(join(input, 'notes.pdf'), '%PDF');
  // Outside the input: reachable only through the links, which must not be followed.
  mkdirSync(join(temp.dir, 'outside'));
  writeFileSync(join(temp.dir, 'outside/secret.jsonl'), '{"prompt":"outside","response":"must not be read"}\n');
  symlinkSync(join(temp.dir, 'outside/secret.jsonl'), join(input, 'link.jsonl'));
  symlinkSync(join(temp.dir, 'outside'), join(input, 'linked-dir'));
});
afterEach(() => temp.remove());

describe('vega dataset build', () => {
  it('writes the records to --out and prints the summary table; links are not followed', async () => {
    const out = join(temp.dir, 'dataset.jsonl');
    const result = await vega(['dataset', 'build', input, '--out', out]);
    expect(result.code).toBe(0);
    expect(jsonLines(readFileSync(out, 'utf8'))).toEqual([
      { prompt: 'p1', response: 'r1' },
      { prompt: 'with, comma', response: 'two\nlines' },
      { prompt: 'q3', response: 'r3' },
    ]);
    const table = result.stdout.split('\n');
    expect(table[0]).toMatch(/^what\s+count\s+where/);
    expect(result.stdout).toMatch(/^files read\s+3$/m);
    expect(result.stdout).toMatch(/^records written\s+3$/m);
    expect(result.stdout).toMatch(/^records skipped\s+1$/m);
    expect(result.stdout).toMatch(/^- invalid-json\s+1\s+a\.jsonl: line 2 — /m);
    expect(result.stdout).toMatch(/^files skipped\s+3$/m);
    expect(result.stdout).toMatch(/^- symlink\s+2\s+link\.jsonl; linked-dir$/m);
    expect(result.stdout).toMatch(/^- unsupported-type\s+1\s+notes\.pdf$/m);
    expect(result.stdout).not.toContain('outside');
  });

  it('--json prints the summary as JSON; without --out the records go to stdout and the summary to stderr', async () => {
    const result = await vega(['dataset', 'build', input, '--format', 'sharegpt', '--json']);
    expect(result.code).toBe(0);
    const records = jsonLines(result.stdout);
    expect(records).toHaveLength(3);
    expect(records[0]).toEqual({ conversations: [{ from: 'human', value: 'p1' }, { from: 'gpt', value: 'r1' }] });
    expect(JSON.parse(result.stderr)).toEqual({
      out: null,
      format: 'sharegpt',
      files_read: 3,
      records_written: 3,
      records_skipped: 1,
      files_skipped: 3,
      skipped_records: [{ reason: 'invalid-json', count: 1, examples: [expect.stringMatching(/^a\.jsonl: line 2 — /)] }],
      skipped_files: [
        { reason: 'symlink', count: 2, examples: ['link.jsonl', 'linked-dir'] },
        { reason: 'unsupported-type', count: 1, examples: ['notes.pdf'] },
      ],
    });
  });

  it('never reads its own output file when it is written inside DIR, and never overwrites a file', async () => {
    const out = join(input, 'out.jsonl');
    const first = await vega(['dataset', 'build', input, '--out', out, '--json']);
    expect(first.code).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({ files_read: 3, records_written: 3 });
    const again = await vega(['dataset', 'build', input, '--out', out]);
    expect(again.code).toBe(2);
    expect(again.stderr.trim()).toMatch(/^vega: .*out\.jsonl already exists/);
    expect(jsonLines(readFileSync(out, 'utf8'))).toHaveLength(3);
  });

  it.each([
    [['dataset', 'build', '/nonexistent-vega-dir'], 2, /is not a directory/],
    [['dataset', 'build', 'x', '--format', 'xml'], 2, /--format must be one of chat, alpaca, sharegpt, prompt-response/],
    [['dataset'], 2, /give a command: build/],
    [['dataset', 'build'], 2, /missing required argument/],
  ])('%j → exit %i with one line', async (args, code, message) => {
    const result = await vega(args);
    expect(result.code).toBe(code);
    expect(result.stderr).toMatch(message);
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
  });

  it('streams a large JSONL input: every line is written and memory stays flat', async () => {
    const big = join(temp.dir, 'big');
    const small = join(temp.dir, 'small');
    mkdirSync(big);
    mkdirSync(small);
    writeFileSync(join(small, 'one.jsonl'), '{"prompt":"p","response":"r"}\n');
    const records = 200_000;
    const filler = 'x'.repeat(300);
    const file = createWriteStream(join(big, 'big.jsonl'));
    for (let i = 0; i < records; i++) {
      if (!file.write(`{"prompt":"question ${i} ${filler}","response":"answer ${i} ${filler}"}\n`)) await once(file, 'drain');
    }
    file.end();
    await once(file, 'finish');
    const inputBytes = records * (filler.length * 2 + 50);

    // The young generation capped as `npm start` and the systemd unit cap it: Node 24 otherwise grows
    // it to tens of MB under this much allocation, which is V8's sizing, not the input being held.
    const run = async (dir: string) => {
      const { stdout } = await promisify(execFile)(process.execPath, ['--max-semi-space-size=8', '-r', require.resolve('@swc-node/register'), join(ROOT, 'test/support/dataset-build.main.ts'), dir, join(temp.dir, `${dir.endsWith('big') ? 'big' : 'small'}.out.jsonl`)], {
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', SWC_NODE_PROJECT: join(ROOT, 'tsconfig.json') },
      });
      return JSON.parse(stdout) as { records_written: number; max_rss_bytes: number };
    };
    const baseline = await run(small);
    const large = await run(big);
    expect(large.records_written).toBe(records);
    const written = readFileSync(join(temp.dir, 'big.out.jsonl'), 'utf8');
    expect(written.split('\n').filter(Boolean)).toHaveLength(records);
    // Holding the input (~130 MB) in memory would take more than all of it; streaming adds only buffers
    // (-5 to 10 MB on a quiet machine, 44 MB once with a full suite running beside it: the GC lags).
    expect(large.max_rss_bytes - baseline.max_rss_bytes).toBeLessThan(inputBytes / 2);
  });
});
