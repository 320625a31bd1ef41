import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FakeOllama } from '../support/fake-ollama';
import { execDb } from '../support/seed';
import { queryDb } from '../support/sqlite';
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

describe('vega chat | head -c N', () => {
  const words = Array.from({ length: 200 }, (_, i) => `word${i + 1}`);
  const fake = new FakeOllama({ models: ['mistral'], reply: () => words.join(' '), tokenDelayMs: 20 });
  beforeAll(() => fake.start());
  afterAll(() => fake.stop());

  it('stops the answer and the model, keeps the partial answer as aborted, and ends with exit 0 and nothing on stderr', async () => {
    const dataDir = join(temp.dir, 'chat-data');
    const result = await runVegaClosingStdoutAfter(20, ['chat', 'count for me'], { env: { VEGA_DATA_DIR: dataDir, OLLAMA_URL: fake.url } });
    expect({ code: result.code, signal: result.signal, stderr: result.stderr }).toEqual({ code: 0, signal: null, stderr: '' });
    expect(result.stdout).toMatch(/^word1 word2/);
    await fake.waitForAbort(0, 10_000);
    const rows = await queryDb<{ status: string; response: string; source: string }>(join(dataDir, 'vega.db'), 'SELECT status, response, source FROM conversations');
    expect(rows).toEqual([{ status: 'aborted', response: expect.stringMatching(/^word1 word2/), source: 'cli' }]);
    expect(rows[0].response).not.toContain('word200');
  });

  it('does the same for an answer in vega repl', async () => {
    const dataDir = join(temp.dir, 'repl-data');
    const result = await runVegaClosingStdoutAfter(20, ['repl'], { env: { VEGA_DATA_DIR: dataDir, OLLAMA_URL: fake.url }, input: 'count for me\n' });
    expect({ code: result.code, signal: result.signal, stderr: result.stderr }).toEqual({ code: 0, signal: null, stderr: '' });
    const rows = await queryDb<{ status: string; response: string }>(join(dataDir, 'vega.db'), 'SELECT status, response FROM conversations');
    expect(rows).toEqual([{ status: 'aborted', response: expect.stringMatching(/^word1 word2/) }]);
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
