import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { seedConversations } from '../support/seed';
import { tempDir } from '../support/test-app';
import { runVega } from '../support/cli';

jest.setTimeout(120_000);

let temp: ReturnType<typeof tempDir>;
const dbPath = () => join(temp.dir, 'data', 'vega.db');
const vega = (args: string[]) => runVega(args, { env: { VEGA_DATA_DIR: join(temp.dir, 'data') } });
const jsonLines = (text: string) => text.trim().split('\n').filter(Boolean).map((line) => JSON.parse(line));

/** The first run creates the database (migrations at start); the rows are then added with a connection of our own. */
async function seeded(): Promise<void> {
  expect((await vega(['learn', 'curate'])).code).toBe(0);
  await seedConversations(dbPath(), [
    { prompt: 'How do I reach support?', response: 'Mail help@example.com', rating: 5, tags: 'good', ts: '2026-10-01 09:00:00.000' },
    { prompt: 'Explain WAL', response: 'old answer', rating: 4, ts: '2026-10-02 09:00:00.000' },
    { prompt: 'explain   wal!', response: 'newer answer', rating: 5, reviewed: 1, tags: 'Concise, good', ts: '2026-11-02 09:00:00.000' },
    { prompt: 'Crashed', response: '', rating: 5, status: 'error', ts: '2026-11-03 09:00:00.000' },
    { prompt: 'Meh', response: 'so-so', rating: 2, tags: 'verbose', ts: '2026-11-04 09:00:00.000' },
  ]);
}

beforeEach(() => {
  temp = tempDir('vega-curate-cli-');
});
afterEach(() => temp.remove());

describe('vega learn curate', () => {
  it('writes {prompt, response} JSONL to stdout by default and the summary table to stderr', async () => {
    await seeded();
    const result = await vega(['learn', 'curate']);
    expect(result.code).toBe(0);
    expect(jsonLines(result.stdout)).toEqual([
      { prompt: 'Meh', response: 'so-so' },
      { prompt: 'explain   wal!', response: 'newer answer' },
      { prompt: 'How do I reach support?', response: 'Mail [EMAIL]' },
    ]);
    expect(result.stderr.split('\n')[0]).toMatch(/^what\s+count\s+conversations \(first ones\)$/);
    expect(result.stderr).toMatch(/^rows read\s+5$/m);
    expect(result.stderr).toMatch(/^records written\s+3$/m);
    expect(result.stderr).toMatch(/^rows skipped\s+2$/m);
    expect(result.stderr).toMatch(/^- duplicate\s+1\s+#2$/m);
    expect(result.stderr).toMatch(/^- status-error\s+1\s+#4$/m);
    expect(result.stderr).toMatch(/^pii masked\s+1$/m);
    expect(result.stderr).toMatch(/^- email\s+1$/m);
  });

  it('applies --min-rating, --reviewed-only, --since and --tags; --out gets the records, stdout the table', async () => {
    await seeded();
    const out = (name: string) => join(temp.dir, name);
    const records = async (args: string[], name: string) => {
      const result = await vega(['learn', 'curate', ...args, '--out', out(name)]);
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/^records written/m);
      return jsonLines(readFileSync(out(name), 'utf8')).map((record) => record.prompt);
    };
    expect(await records(['--min-rating', '4'], 'rating.jsonl')).toEqual(['explain   wal!', 'How do I reach support?']);
    expect(await records(['--reviewed-only'], 'reviewed.jsonl')).toEqual(['explain   wal!']);
    expect(await records(['--since', '2026-11-01'], 'since.jsonl')).toEqual(['Meh', 'explain   wal!']);
    expect(await records(['--since', '2026-11-02T09:00:00Z'], 'since-time.jsonl')).toEqual(['Meh', 'explain   wal!']);
    expect(await records(['--tags', 'GOOD, verbose'], 'tags.jsonl')).toEqual(['Meh', 'explain   wal!', 'How do I reach support?']);
    expect(await records(['--tags', 'concise', '--min-rating', '5'], 'both.jsonl')).toEqual(['explain   wal!']);
    expect(statSync(out('tags.jsonl')).mode & 0o777).toBe(0o600);
  });

  it.each([
    ['chat', { messages: [{ role: 'user', content: 'explain   wal!' }, { role: 'assistant', content: 'newer answer' }] }],
    ['alpaca', { instruction: 'explain   wal!', input: '', output: 'newer answer' }],
    ['sharegpt', { conversations: [{ from: 'human', value: 'explain   wal!' }, { from: 'gpt', value: 'newer answer' }] }],
    ['prompt-response', { prompt: 'explain   wal!', response: 'newer answer' }],
  ])('--format %s writes that shape; --json prints the summary as JSON', async (format, expected) => {
    await seeded();
    const out = join(temp.dir, `${format}.jsonl`);
    const result = await vega(['learn', 'curate', '--reviewed-only', '--format', format, '--out', out, '--json']);
    expect(result.code).toBe(0);
    expect(jsonLines(readFileSync(out, 'utf8'))).toEqual([expected]);
    expect(JSON.parse(result.stdout)).toEqual({
      out,
      format,
      rows_read: 1,
      records_written: 1,
      rows_skipped: 0,
      skipped_rows: [],
      pii_masked: {},
    });
  });

  it('--json without --out: the records on stdout, the summary as JSON on stderr', async () => {
    await seeded();
    const result = await vega(['learn', 'curate', '--json', '--format', 'chat', '--tags', 'verbose']);
    expect(result.code).toBe(0);
    expect(jsonLines(result.stdout)).toEqual([{ messages: [{ role: 'user', content: 'Meh' }, { role: 'assistant', content: 'so-so' }] }]);
    expect(JSON.parse(result.stderr)).toMatchObject({ out: null, format: 'chat', rows_read: 1, records_written: 1 });
  });

  it('never overwrites an existing --out file (exit 2)', async () => {
    await seeded();
    const out = join(temp.dir, 'taken.jsonl');
    writeFileSync(out, 'keep me\n');
    const result = await vega(['learn', 'curate', '--out', out]);
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toMatch(/^vega: .*taken\.jsonl already exists/);
    expect(readFileSync(out, 'utf8')).toBe('keep me\n');
  });

  it.each([
    [['learn'], /vega learn: give a command: curate/],
    [['learn', 'curate', '--min-rating', '6'], /--min-rating must be an integer between 1 and 5 \(got "6"\)/],
    [['learn', 'curate', '--since', 'last week'], /--since must be an ISO 8601 date or date-time, e\.g\. 2026-11-01/],
    [['learn', 'curate', '--since', '2026-13-45'], /--since must be an ISO 8601 date or date-time/],
    [['learn', 'curate', '--tags', ' , '], /--tags must name at least one tag/],
    [['learn', 'curate', '--format', 'xml'], /--format must be one of chat, alpaca, sharegpt, prompt-response/],
    [['learn', 'curate', 'extra'], /too many arguments/],
  ])('%j → exit 2 with one line, no file written', async (args, message) => {
    const result = await vega([...args, '--out', join(temp.dir, 'never.jsonl')]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(existsSync(join(temp.dir, 'never.jsonl'))).toBe(false);
  });

  it('--help lists the options with examples, without opening the database', async () => {
    const result = await vega(['learn', 'curate', '--help']);
    expect(result.code).toBe(0);
    for (const flag of ['--min-rating', '--reviewed-only', '--since', '--tags', '--out', '--format', '--json']) expect(result.stdout).toContain(flag);
    expect(result.stdout).toContain('Examples:');
    expect(existsSync(dbPath())).toBe(false);
  });
});
