import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execDb } from '../support/seed';
import { tempDir } from '../support/test-app';
import { runVega, runVegaClosingStdoutAfter } from '../support/cli';

jest.setTimeout(120_000);

const ROWS = 3_000;
let temp: ReturnType<typeof tempDir>;
let env: Record<string, string>;
let input: string;

/**
 * A migrated database (created by a first run) with ROWS distinct ok exchanges of ~250 bytes
 * each: every command below has far more to write than a pipe holds (64 KiB), so it is still
 * writing when the reader leaves.
 */
async function seeded(): Promise<void> {
  expect((await runVega(['db', 'stats'], { env })).code).toBe(0);
  await execDb(
    join(temp.dir, 'data', 'vega.db'),
    `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${ROWS})
     INSERT INTO conversations (ts, prompt, response, source, status, model)
     SELECT strftime('%Y-%m-%d %H:%M:%f', 'now'), 'question ' || i, 'answer ' || i || ' ' || hex(zeroblob(100)), 'api', 'ok', 'mistral' FROM n`,
  );
}

beforeAll(async () => {
  temp = tempDir('vega-cli-output-');
  env = { VEGA_DATA_DIR: join(temp.dir, 'data') };
  input = join(temp.dir, 'in');
  mkdirSync(input);
  const records = Array.from({ length: 20_000 }, (_, i) => JSON.stringify({ prompt: `p${i}`, response: `r${i} ${'x'.repeat(40)}` }));
  writeFileSync(join(input, 'big.jsonl'), `${records.join('\n')}\n`);
  await seeded();
});
afterAll(() => temp.remove());

describe('a reader that closes stdout early (vega … | head -c N)', () => {
  it.each([
    ['dataset build DIR', () => ['dataset', 'build', input], 50],
    ['learn curate --json', () => ['learn', 'curate', '--json'], 100],
    ['db export', () => ['db', 'export'], 100],
    ['history --json', () => ['history', '--json', '--limit', '500'], 100],
  ])('%s ends with exit 0 and nothing on stderr, even mid-stream', async (_name, args, bytes) => {
    const result = await runVegaClosingStdoutAfter(bytes, args(), { env });
    expect(result.stdout.length).toBeGreaterThanOrEqual(bytes);
    expect({ code: result.code, signal: result.signal, stderr: result.stderr }).toEqual({ code: 0, signal: null, stderr: '' });
  });
});

describe('--out onto an existing file', () => {
  it.each([
    ['db export', (out: string) => ['db', 'export', '--out', out]],
    ['dataset build', (out: string) => ['dataset', 'build', input, '--out', out]],
    ['learn curate', (out: string) => ['learn', 'curate', '--out', out]],
  ])('%s refuses it (exit 2), names the file and leaves it alone', async (name, args) => {
    const out = join(temp.dir, `${name.replace(' ', '-')}.jsonl`);
    writeFileSync(out, 'keep me\n');
    const result = await runVega(args(out), { env });
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(`vega: ${out} already exists; choose another --out (an existing file is never overwritten)\n`);
    expect(result.stdout).toBe('');
    expect(readFileSync(out, 'utf8')).toBe('keep me\n');
  });
});
