import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Writable } from 'node:stream';
import { buildDataset, BuildSummary } from '../../src/modules/datasets/dataset-builder';
import type { DatasetFormat } from '../../src/modules/datasets/dataset-example';
import { formatExample } from '../../src/modules/datasets/dataset-formats';
import { LineSink } from '../../src/modules/datasets/line-sink';
import { JsonLoader } from '../../src/modules/datasets/loaders/json.loader';
import { CsvLoader } from '../../src/modules/datasets/loaders/csv.loader';
import { JsonlLoader } from '../../src/modules/datasets/loaders/jsonl.loader';
import { QaTextLoader } from '../../src/modules/datasets/loaders/qa-text.loader';
import { recogniseRecord } from '../../src/modules/datasets/record-shapes';
import { tempDir } from '../support/test-app';

let temp: ReturnType<typeof tempDir>;
beforeEach(() => {
  temp = tempDir('vega-dataset-');
});
afterEach(() => temp.remove());

function writeFiles(files: Record<string, string>): void {
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(dirname(join(temp.dir, name)), { recursive: true });
    writeFileSync(join(temp.dir, name), content);
  }
}

async function build(files: Record<string, string>, format: DatasetFormat = 'prompt-response') {
  writeFiles(files);
  const lines: unknown[] = [];
  const sink = new LineSink(
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString('utf8').split('\n')) if (line) lines.push(JSON.parse(line));
        done();
      },
    }),
  );
  const summary = await buildDataset({ dir: temp.dir, format, sink });
  return { lines, summary };
}

const reasons = (groups: BuildSummary['skipped_records']) => Object.fromEntries(groups.map((group) => [group.reason, group.count]));
const pr = (prompt: string, response: string) => ({ prompt, response });

describe(recogniseRecord.name, () => {
  it.each([
    ['prompt/response', { prompt: 'p', response: 'r' }, [pr('p', 'r')]],
    ['question/answer', { question: 'p', answer: 'r' }, [pr('p', 'r')]],
    ['prompt/completion', { prompt: 'p', completion: 'r' }, [pr('p', 'r')]],
    ['prompt/response with system', { prompt: 'p', response: 'r', system: 's' }, [{ prompt: 'p', response: 'r', system: 's' }]],
    ['Alpaca without input', { instruction: 'i', input: '', output: 'o' }, [pr('i', 'o')]],
    ['Alpaca with input', { instruction: 'i', input: 'x', output: 'o' }, [pr('i\n\nx', 'o')]],
    [
      'chat messages',
      { messages: [{ role: 'system', content: 's' }, { role: 'user', content: 'u1' }, { role: 'assistant', content: 'a1' }, { role: 'user', content: 'u2' }, { role: 'assistant', content: 'a2' }] },
      [{ prompt: 'u1', response: 'a1', system: 's' }, { prompt: 'u2', response: 'a2', system: 's' }],
    ],
    ['ShareGPT', { conversations: [{ from: 'human', value: 'u' }, { from: 'gpt', value: 'a' }] }, [pr('u', 'a')]],
  ])('recognises %s', (_name, value, expected) => {
    const recognised = recogniseRecord(value);
    expect(recognised.ok).toBe(true);
    if (recognised.ok) expect(formatExample(recognised.example, 'prompt-response')).toEqual(expected);
  });

  it.each([
    ['a scalar', 42, 'unrecognised-shape'],
    ['an array', [1], 'unrecognised-shape'],
    ['unknown fields', { text: 'x' }, 'unrecognised-shape'],
    ['an empty response', { prompt: 'p', response: '  ' }, 'missing-field'],
    ['a missing response', { prompt: 'p' }, 'missing-field'],
    ['a non-string prompt', { prompt: 1, response: 'r' }, 'missing-field'],
    ['Alpaca without output', { instruction: 'i' }, 'missing-field'],
    ['Alpaca with a non-string input', { instruction: 'i', input: 3, output: 'o' }, 'missing-field'],
    ['empty messages', { messages: [] }, 'bad-turns'],
    ['messages not alternating', { messages: [{ role: 'user', content: 'a' }, { role: 'user', content: 'b' }] }, 'bad-turns'],
    ['messages ending with the user', { messages: [{ role: 'user', content: 'a' }] }, 'bad-turns'],
    ['an unknown role', { messages: [{ role: 'tool', content: 'a' }] }, 'bad-turns'],
    ['a late system message', { messages: [{ role: 'user', content: 'a' }, { role: 'system', content: 's' }] }, 'bad-turns'],
    ['non-text content', { messages: [{ role: 'user', content: [{ type: 'text' }] }, { role: 'assistant', content: 'x' }] }, 'bad-turns'],
    ['ShareGPT with an unknown speaker', { conversations: [{ from: 'robot', value: 'a' }] }, 'bad-turns'],
  ])('refuses %s', (_name, value, reason) => {
    const recognised = recogniseRecord(value);
    expect(recognised).toMatchObject({ ok: false, reason });
    if (!recognised.ok) expect(recognised.detail.length).toBeGreaterThan(0);
  });
});

describe(formatExample.name, () => {
  const example = { system: 's', turns: [{ role: 'user' as const, content: 'u' }, { role: 'assistant' as const, content: 'a' }] };
  it.each<[DatasetFormat, object[]]>([
    ['chat', [{ messages: [{ role: 'system', content: 's' }, { role: 'user', content: 'u' }, { role: 'assistant', content: 'a' }] }]],
    ['sharegpt', [{ conversations: [{ from: 'system', value: 's' }, { from: 'human', value: 'u' }, { from: 'gpt', value: 'a' }] }]],
    ['alpaca', [{ instruction: 'u', input: '', output: 'a', system: 's' }]],
    ['prompt-response', [{ prompt: 'u', response: 'a', system: 's' }]],
  ])('writes %s', (format, expected) => {
    expect(formatExample(example, format)).toEqual(expected);
  });
});

describe('loaders', () => {
  it.each<[string, Record<string, string>, object[]]>([
    ['JSONL (with a BOM, CRLF and blank lines)', { 'a.jsonl': '\uFEFF{"prompt":"p1","response":"r1"}\r\n\r\n{"instruction":"i","output":"o"}\n' }, [pr('p1', 'r1'), pr('i', 'o')]],
    ['a JSON array', { 'a.json': JSON.stringify([{ prompt: 'p', response: 'r' }, { conversations: [{ from: 'human', value: 'u' }, { from: 'gpt', value: 'g' }] }]) }, [pr('p', 'r'), pr('u', 'g')]],
    ['one JSON object', { 'a.json': JSON.stringify({ messages: [{ role: 'user', content: 'u' }, { role: 'assistant', content: 'a' }] }) }, [pr('u', 'a')]],
    [
      'CSV with quoted commas, quotes and newlines',
      { 'a.csv': '\uFEFFPrompt , RESPONSE\n"Hello, you","line one\nline ""two"""\nplain,text\n' },
      [pr('Hello, you', 'line one\nline "two"'), pr('plain', 'text')],
    ],
    ['CSV with question/answer columns', { 'a.csv': 'id,question,answer\n1,q,a\n' }, [pr('q', 'a')]],
    ['Alpaca CSV', { 'a.csv': 'instruction,input,output\ni,,o\ni2,x,o2\n' }, [pr('i', 'o'), pr('i2\n\nx', 'o2')]],
    ['Q:/A: lines in text', { 'a.txt': 'Some intro.\nQ: What is WAL?\nIt is a journal.\nA: Write-ahead logging.\nKeeps readers going.\n\nQ: Second?\nA: Yes.\n' }, [pr('What is WAL?\nIt is a journal.', 'Write-ahead logging.\nKeeps readers going.'), pr('Second?', 'Yes.')]],
    ['Question:/Answer: and bold markers', { 'a.txt': 'Question: one\nAnswer: two\n**Q:** three\n**A:** four\n' }, [pr('one', 'two'), pr('three', 'four')]],
    [
      'Markdown headings, with a code fence and an unrelated heading',
      { 'a.md': '# FAQ\n\n### Question\nHow do I list?\n\n### Answer\nRun:\n```bash\n# a comment, not a heading\nls\n```\n\n## Unrelated\nNot part of it.\n\n## Q: Inline?\n## A\nYes.\n' },
      [pr('How do I list?', 'Run:\n```bash\n# a comment, not a heading\nls\n```'), pr('Inline?', 'Yes.')],
    ],
  ])('reads %s', async (_name, files, expected) => {
    const { lines, summary } = await build(files);
    expect(lines).toEqual(expected);
    expect(summary).toMatchObject({ files_read: 1, records_written: expected.length, records_skipped: 0, files_skipped: 0 });
  });

  it.each<[string, Record<string, string>, Record<string, number>, number]>([
    ['invalid JSON lines', { 'a.jsonl': '{"prompt":"p","response":"r"}\n{not json\n' }, { 'invalid-json': 1 }, 1],
    ['unrecognised JSONL records', { 'a.jsonl': '{"text":"x"}\n[1]\n{"prompt":"p","response":"r"}\n' }, { 'unrecognised-shape': 2 }, 1],
    ['missing fields', { 'a.jsonl': '{"prompt":"p"}\n{"prompt":"p","response":"r"}\n' }, { 'missing-field': 1 }, 1],
    ['bad turns', { 'a.json': JSON.stringify([{ messages: [{ role: 'user', content: 'u' }] }, { prompt: 'p', response: 'r' }]) }, { 'bad-turns': 1 }, 1],
    ['incomplete Q/A pairs', { 'a.txt': 'A: orphan answer\nQ: no answer\nQ: q\nA: a\nQ: trailing\n' }, { 'incomplete-pair': 3 }, 1],
    ['an empty question', { 'a.md': '### Question\n\n### Answer\nsomething\nQ: q\nA: a\n' }, { 'missing-field': 1 }, 1],
    ['malformed CSV rows', { 'a.csv': 'prompt,response\nq,a\nx,y,z\n"unclosed,quote\n' }, { 'malformed-csv': 2 }, 1],
    ['a CSV row with an empty response', { 'a.csv': 'prompt,response\nq,\nq2,a2\n' }, { 'missing-field': 1 }, 1],
  ])('skips %s with the reason and keeps the rest', async (_name, files, expected, written) => {
    const { lines, summary } = await build(files);
    expect(lines).toHaveLength(written);
    expect(reasons(summary.skipped_records)).toEqual(expected);
    expect(summary.records_skipped).toBe(Object.values(expected).reduce((a, b) => a + b, 0));
    expect(summary.files_read).toBe(1);
    for (const group of summary.skipped_records) expect(group.examples[0]).toMatch(/^a\.\w+: (line \d+|\[\d+\]) — ./);
  });

  it.each<[string, Record<string, string>, string]>([
    ['a JSON file that is not JSON', { 'a.json': '{"prompt": ' }, 'invalid-json'],
    ['a JSON scalar', { 'a.json': '"just text"' }, 'unrecognised-shape'],
    ['a CSV without prompt/response columns', { 'a.csv': 'name,age\nx,1\n' }, 'missing-columns'],
    ['a text without Q/A pairs', { 'a.txt': 'just prose\n' }, 'no-records'],
    ['an empty JSONL file', { 'a.jsonl': '\n\n' }, 'no-records'],
    ['a file of an unsupported type', { 'a.pdf': '%PDF' }, 'unsupported-type'],
    ['a hidden file', { '.secret.jsonl': '{"prompt":"p","response":"r"}\n' }, 'hidden'],
  ])('skips %s as a file', async (_name, files, reason) => {
    const { lines, summary } = await build(files);
    expect(lines).toEqual([]);
    expect(summary).toMatchObject({ files_read: 0, files_skipped: 1, records_written: 0 });
    expect(summary.skipped_files).toEqual([expect.objectContaining({ reason, count: 1 })]);
  });

  it('refuses a JSON document larger than its limit (JSON Lines stream instead)', async () => {
    writeFiles({ 'big.json': JSON.stringify([{ prompt: 'p', response: 'r' }]) });
    const items = new JsonLoader(10).load(join(temp.dir, 'big.json'));
    await expect(items[Symbol.asyncIterator]().next()).rejects.toMatchObject({ reason: 'too-large' });
  });

  it('every loader claims distinct extensions', () => {
    const all = [new JsonlLoader(), new JsonLoader(), new CsvLoader(), new QaTextLoader()].flatMap((loader) => [...loader.extensions]);
    expect(new Set(all).size).toBe(all.length);
  });
});
