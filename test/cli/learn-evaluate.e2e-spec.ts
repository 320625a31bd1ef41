import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { SystemPromptService } from '../../src/core/llm/system-prompt.service';
import { runVega, VegaOptions } from '../support/cli';
import { queryDb } from '../support/sqlite';
import { FakeOllama, scriptedReply } from '../support/fake-ollama';
import { startTestApp, tempDir, TEST_API_KEY } from '../support/test-app';

jest.setTimeout(90_000);

const sha = (text: string | Buffer) => createHash('sha256').update(text).digest('hex');

/**
 * A backend whose answers depend on the system prompt: "Be exact." answers each question
 * exactly, "Be chatty." wraps the answer in a sentence (containment), anything else is wrong.
 * The judge (its fixed rubric is the system prompt) grades the capital right and mumbles on
 * the sum.
 */
const ANSWERS: Record<string, string> = { 'capital of France?': 'Paris', 'two plus two?': '4' };
const answerFor = (user: string) => Object.entries(ANSWERS).find(([question]) => user.includes(question))?.[1] ?? '?';
const fake = new FakeOllama({
  models: ['mistral', 'judge'],
  reply: scriptedReply(
    [
      { system: 'You grade answers', user: /QUESTION:\ncapital/, reply: '{"score": 0.9, "reason": "right"}' },
      { system: 'You grade answers', reply: 'Looks fine to me.' },
      { system: 'Be exact.', reply: (req) => answerFor(String(req.messages!.at(-1)!.content)) },
      { system: 'Be chatty.', reply: (req) => `Well, I believe it is ${answerFor(String(req.messages!.at(-1)!.content))}, friend.` },
    ],
    () => 'I do not know.',
  ),
});

let temp: ReturnType<typeof tempDir>;
/** A loopback port nothing listens on: --apply finds no server there unless a test starts one. */
let closedPort: number;
let env: Record<string, string>;
let evalFile: string;
const dataDir = () => join(temp.dir, 'data');
const runsIn = (dir: string) => (existsSync(dir) ? readdirSync(dir).sort() : []);
const vega = (args: string[], options: VegaOptions = {}) => runVega(args, { ...options, env: { ...env, ...options.env } });
const file = (name: string, text: string) => {
  const path = join(temp.dir, name);
  writeFileSync(path, text);
  return path;
};

beforeAll(async () => {
  await fake.start();
  const probe = createServer();
  await new Promise<void>((listening) => probe.listen(0, '127.0.0.1', listening));
  closedPort = (probe.address() as AddressInfo).port;
  await new Promise((closed) => probe.close(closed));
});
afterAll(async () => {
  await fake.stop();
});
beforeEach(() => {
  temp = tempDir('vega-learn-');
  env = { VEGA_DATA_DIR: join(temp.dir, 'data'), OLLAMA_URL: fake.url, PORT: String(closedPort) };
  evalFile = file(
    'eval.jsonl',
    ['{"prompt":"capital of France?","expected":"Paris"}', '{"prompt": "broken', '', '{"prompt":"two plus two?","expected":"4"}', '{"prompt":"no expected"}'].join('\n'),
  );
});
afterEach(() => {
  fake.reset();
  temp.remove();
});

describe('vega learn evaluate', () => {
  it('scores each item, prints the table and the mean, reports bad lines and writes the run report under <data dir>/runs', async () => {
    const prompt = file('chatty.txt', 'Be chatty.\n');
    const result = await vega(['learn', 'evaluate', evalFile, '--system-prompt', prompt]);
    expect(result.code).toBe(0);
    expect(result.stderr).toContain(`vega: ${evalFile}: line 2 skipped: invalid JSON`);
    expect(result.stderr).toContain(`vega: ${evalFile}: line 5 skipped: expected must be a non-empty string`);
    const lines = result.stdout.split('\n');
    expect(lines[0]).toMatch(/^line\s+score\s+metric\s+prompt$/);
    expect(lines[1]).toMatch(/^\s+1\s+0\.800\s+containment\s+capital of France\?$/);
    expect(lines[2]).toMatch(/^\s+4\s+0\.800\s+containment\s+two plus two\?$/);
    expect(result.stdout).toMatch(/^mean 0\.800 over 2 item\(s\) · model mistral · /m);

    const [name] = runsIn(join(dataDir(), 'runs'));
    expect(name).toMatch(/^eval-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.\d{3}Z\.json$/);
    expect(result.stdout).toContain(`report: ${join(dataDir(), 'runs', name)}`);
    const report = JSON.parse(readFileSync(join(dataDir(), 'runs', name), 'utf8'));
    expect(report).toMatchObject({
      kind: 'vega-eval-report',
      model: 'mistral',
      judge: null,
      system_prompt: { source: prompt, sha256: sha('Be chatty.'), length: 10, text: 'Be chatty.' },
      eval_file: { path: evalFile, sha256: sha(readFileSync(evalFile)), items: 2, skipped_lines: [{ line: 2 }, { line: 5 }] },
      concurrency: 4,
      summary: { items: 2, answered: 2, failed: 0, mean: 0.8, judge_mean: null },
    });
    expect(report.items[0]).toMatchObject({
      line: 1,
      prompt: 'capital of France?',
      expected: 'Paris',
      answer: 'Well, I believe it is Paris, friend.',
      score: 0.8,
      metric: 'containment',
      scores: { exact: 0, containment: 0.8 },
      error: null,
    });
    expect(report.duration_ms).toBeGreaterThanOrEqual(0);
    // The same request as the API's: the system prompt first, then the prompt; nothing stored.
    expect(fake.chatRequests()[0].body.messages[0]).toEqual({ role: 'system', content: 'Be chatty.' });
    // (The learn commands share one module set, so the database may exist: it holds no exchange.)
    const db = join(dataDir(), 'vega.db');
    if (existsSync(db)) expect(await queryDb(db, 'SELECT id FROM conversations')).toEqual([]);
  });

  it('uses SYSTEM_PROMPT_FILE by default; --json prints the report and --runs-dir puts it elsewhere', async () => {
    const prompt = file('system.txt', 'Be exact.');
    const runs = join(temp.dir, 'my-runs');
    const result = await vega(['learn', 'evaluate', evalFile, '--json', '--runs-dir', runs, '--concurrency', '1'], { env: { SYSTEM_PROMPT_FILE: prompt } });
    expect(result.code).toBe(0);
    const printed = JSON.parse(result.stdout);
    expect(printed.report_path).toBe(join(runs, runsIn(runs)[0]));
    const { report_path: _path, ...report } = printed;
    expect(JSON.parse(readFileSync(printed.report_path, 'utf8'))).toEqual(report);
    expect(report).toMatchObject({ concurrency: 1, system_prompt: { source: `SYSTEM_PROMPT_FILE (${prompt})` }, summary: { mean: 1 } });
    expect(report.items.map((item: { metric: string }) => item.metric)).toEqual(['exact', 'exact']);
    expect(runsIn(join(dataDir(), 'runs'))).toEqual([]);
  });

  it('records a failed call on its item (score 0) and finishes the run', async () => {
    fake.enqueue({ kind: 'status', status: 500, message: 'model crashed' });
    const result = await vega(['learn', 'evaluate', evalFile, '--concurrency', '1', '--json'], { env: { LLM_MAX_RETRIES: '0' } });
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report.items[0]).toMatchObject({ line: 1, answer: null, score: 0, metric: null, error: { type: 'BackendError', message: expect.stringContaining('model crashed') } });
    expect(report.items[1]).toMatchObject({ line: 4, answer: 'I do not know.', score: 0, metric: 'none', error: null });
    expect(report.summary).toMatchObject({ items: 2, answered: 1, failed: 1, mean: 0 });
  });

  it('shows failures under the table in text mode', async () => {
    fake.enqueue({ kind: 'status', status: 500, message: 'model crashed' });
    const result = await vega(['learn', 'evaluate', evalFile, '--concurrency', '1'], { env: { LLM_MAX_RETRIES: '0' } });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^\s+1\s+0\.000\s+error\s+capital of France\?$/m);
    expect(result.stdout).toMatch(/^mean 0\.000 over 2 item\(s\) \(1 failed, counted as 0\)/m);
    expect(result.stdout).toMatch(/^line 1 failed: BackendError: .*model crashed/m);
  });

  it('exits 1 with the reason when no item could be evaluated (backend down), writing no report', async () => {
    const result = await vega(['learn', 'evaluate', evalFile], { env: { OLLAMA_URL: 'http://127.0.0.1:1' } });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/vega: no item could be evaluated: every call failed \((BackendUnavailableError|BackendUnreachableError|BreakerOpenError): .*\)/);
    expect(result.stdout).toBe('');
    expect(runsIn(join(dataDir(), 'runs'))).toEqual([]);
  });

  it.each([
    [['{"prompt":"x"}', 'nope'].join('\n'), /has no usable \{prompt, expected\} line; 2 line\(s\) skipped, first: line 1: expected must be a non-empty string/],
    ['', /has no usable \{prompt, expected\} line$/m],
  ])('exits 2 for an eval file without a usable line (%j)', async (text, message) => {
    const result = await vega(['learn', 'evaluate', file('bad.jsonl', text)]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(fake.chatRequests()).toHaveLength(0);
  });

  it.each([
    [['learn', 'evaluate', '/nonexistent/eval.jsonl'], /cannot read the eval file \/nonexistent\/eval\.jsonl: ENOENT/],
    [['learn', 'evaluate', 'EVAL', '--concurrency', '0'], /--concurrency must be an integer between 1 and 64/],
    [['learn'], /vega learn: give a command: curate, evaluate, compare, optimize-prompt/],
  ])('%j → exit 2', async (args, message) => {
    const result = await vega(args);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
  });

  it('--judge grades each answer with the fixed rubric; an unparsable grade marks the item judge-failed', async () => {
    const prompt = file('exact.txt', 'Be exact.');
    const result = await vega(['learn', 'evaluate', evalFile, '--system-prompt', prompt, '--judge', 'judge', '--concurrency', '1']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^line\s+score\s+metric\s+judge\s+prompt$/m);
    expect(result.stdout).toMatch(/^\s+1\s+1\.000\s+exact\s+0\.900\s+capital of France\?$/m);
    expect(result.stdout).toMatch(/^\s+4\s+1\.000\s+exact\s+failed\s+two plus two\?$/m);
    expect(result.stdout).toMatch(/^judge judge: mean 0\.900 over 1 graded \(1 judge-failed\)$/m);
    expect(result.stdout).toMatch(/^line 4 judge-failed: no grade between 0 and 1 in the judge reply$/m);
    const judgeCall = fake.chatRequests().find((request) => request.body.model === 'judge')!;
    expect(judgeCall.body.messages[0].content).toMatch(/^You grade answers/);
    expect(judgeCall.body.options).toMatchObject({ temperature: 0 });
  });
});

describe('vega learn compare', () => {
  async function runWith(systemPrompt: string): Promise<string> {
    const result = await vega(['learn', 'evaluate', evalFile, '--system-prompt', file(`${sha(systemPrompt)}.txt`, systemPrompt), '--json']);
    expect(result.code).toBe(0);
    return JSON.parse(result.stdout).report_path;
  }

  it('shows per-item deltas, both means and the improved/regressed counts', async () => {
    const a = await runWith('Be chatty.');
    const b = await runWith('Be exact.');
    const result = await vega(['learn', 'compare', a, b]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^line\s+A\s+B\s+delta\s+prompt$/m);
    expect(result.stdout).toMatch(/^\s+1\s+0\.800\s+1\.000\s+\+0\.200\s+capital of France\?$/m);
    expect(result.stdout).toMatch(/^A: mean 0\.800 · model mistral · system prompt [0-9a-f]{12} · /m);
    expect(result.stdout).toMatch(/^B - A: \+0\.200 · 2 improved, 0 regressed, 0 unchanged$/m);

    const json = JSON.parse((await vega(['learn', 'compare', b, a, '--json'])).stdout);
    expect(json).toMatchObject({ delta: -0.2, improved: 0, regressed: 2, unchanged: 0, a: { mean: 1, system_prompt_sha256: sha('Be exact.') } });
    expect(json.items[1]).toEqual({ line: 4, prompt: 'two plus two?', a: 1, b: 0.8, delta: -0.2, change: 'regressed' });
  });

  it('refuses reports of different eval files, and files that are not reports (exit 2)', async () => {
    const a = await runWith('Be exact.');
    evalFile = file('other.jsonl', '{"prompt":"capital of France?","expected":"Paris"}\n');
    const b = await runWith('Be exact.');
    const different = await vega(['learn', 'compare', a, b]);
    expect(different.code).toBe(2);
    expect(different.stderr).toMatch(/ran different eval files .*; compare two runs of the same eval file/);
    const notReport = await vega(['learn', 'compare', a, evalFile]);
    expect(notReport.code).toBe(2);
    expect(notReport.stderr).toMatch(/other\.jsonl is not an eval report \(no "kind": "vega-eval-report"\); give a report written by vega learn evaluate/);
    const notJson = await vega(['learn', 'compare', a, file('notes.txt', 'hello')]);
    expect(notJson.code).toBe(2);
    expect(notJson.stderr).toMatch(/notes\.txt is not JSON; give a report written by vega learn evaluate/);
  });
});

describe('vega learn optimize-prompt', () => {
  function candidatesDir(): string {
    const dir = join(temp.dir, 'candidates');
    mkdirSync(dir);
    writeFileSync(join(dir, 'a-wrong.txt'), 'Be vague.\n');
    writeFileSync(join(dir, 'b-chatty.txt'), 'Be chatty.\n');
    writeFileSync(join(dir, 'c-exact.md'), 'Be exact.\n');
    writeFileSync(join(dir, 'd-empty.txt'), '\n');
    return dir;
  }

  it('ranks the candidates of a directory and names the winner, one run report per candidate', async () => {
    const result = await vega(['learn', 'optimize-prompt', candidatesDir(), evalFile]);
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('skipped d-empty.txt: empty prompt');
    const rows = result.stdout.split('\n').filter((line) => /^\s+\d\s/.test(line));
    expect(rows.map((row) => row.trim().split(/\s+/).slice(0, 4))).toEqual([
      ['1', '1.000', '0', 'c-exact'],
      ['2', '0.800', '0', 'b-chatty'],
      ['3', '0.000', '0', 'a-wrong'],
    ]);
    expect(result.stdout).toMatch(/^winner: c-exact \(mean 1\.000\)$/m);
    expect(runsIn(join(dataDir(), 'runs')).map((name) => name.replace(/^eval-.*Z-/, ''))).toEqual(
      expect.arrayContaining(['a-wrong.json', 'b-chatty.json', 'c-exact.json']),
    );
  });

  it('reads JSONL candidates; ties go to the earlier candidate', async () => {
    const candidates = file('candidates.jsonl', ['{"name":"first-exact","prompt":"Be exact."}', '{"prompt":"Be exact. Really."}', '{"name":"chatty","prompt":"Be chatty."}'].join('\n'));
    const result = await vega(['learn', 'optimize-prompt', candidates, evalFile, '--json']);
    expect(result.code).toBe(0);
    const json = JSON.parse(result.stdout);
    expect(json.winner).toBe('first-exact');
    expect(json.ranking.map((row: { name: string; mean: number }) => [row.name, row.mean])).toEqual([
      ['first-exact', 1],
      ['line-2', 1],
      ['chatty', 0.8],
    ]);
    expect(json.applied).toBeNull();
  });

  it('--apply writes the winner to SYSTEM_PROMPT_FILE atomically and keeps the previous file as a backup', async () => {
    const promptFile = file('system_prompt.txt', 'The old prompt.\n');
    const candidates = candidatesDir();
    const apply = () => vega(['learn', 'optimize-prompt', candidates, evalFile, '--apply'], { env: { SYSTEM_PROMPT_FILE: promptFile, API_KEY: TEST_API_KEY } });
    const result = await apply();
    expect(result.code).toBe(0);
    expect(readFileSync(promptFile, 'utf8')).toBe('Be exact.\n');
    const backups = readdirSync(temp.dir).filter((name) => name.startsWith('system_prompt.txt.bak-'));
    expect(backups).toHaveLength(1);
    expect(readFileSync(join(temp.dir, backups[0]), 'utf8')).toBe('The old prompt.\n');
    // No temporary file is left behind.
    expect(readdirSync(temp.dir).filter((name) => name.includes('.tmp-'))).toEqual([]);
    expect(result.stdout).toContain(`wrote ${promptFile} (sha256 ${sha('Be exact.').slice(0, 12)}…); previous kept as ${join(temp.dir, backups[0])}`);
    expect(result.stdout).toMatch(new RegExp(`^server at http://127\\.0\\.0\\.1:${closedPort}/admin/system-prompt/reload not told \\(ECONNREFUSED\\); a running server picks the file up through its watch$`, 'm'));

    // A second run finds the winner in place: nothing written, no second backup.
    const again = await apply();
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(`${promptFile} already holds the winner; nothing written`);
    expect(readdirSync(temp.dir).filter((name) => name.startsWith('system_prompt.txt.bak-'))).toHaveLength(1);
  });

  it('--apply tells a running server, which then serves the winner', async () => {
    const promptFile = file('system_prompt.txt', 'The old prompt.\n');
    const app = await startTestApp({ OLLAMA_URL: fake.url, SYSTEM_PROMPT_FILE: promptFile });
    try {
      const port = new URL(app.url).port;
      const result = await vega(['learn', 'optimize-prompt', candidatesDir(), evalFile, '--apply', '--json'], {
        env: { SYSTEM_PROMPT_FILE: promptFile, API_KEY: TEST_API_KEY, PORT: port },
      });
      expect(result.code).toBe(0);
      const { applied } = JSON.parse(result.stdout);
      expect(applied).toMatchObject({ file: promptFile, sha256: sha('Be exact.'), length: 9, unchanged: false });
      expect(applied.server).toEqual({ status: 'reloaded', url: `http://127.0.0.1:${port}/admin/system-prompt/reload`, sha256: sha('Be exact.'), length: 9 });
      expect(app.app.get(SystemPromptService).get()).toBe('Be exact.');
    } finally {
      await app.close();
    }
  });

  it('--apply fails (exit 1) when the server that reloaded serves another prompt file', async () => {
    const promptFile = file('system_prompt.txt', 'The old prompt.\n');
    const servedFile = file('served_prompt.txt', 'What the server reads.\n');
    const app = await startTestApp({ OLLAMA_URL: fake.url, SYSTEM_PROMPT_FILE: servedFile });
    try {
      const port = new URL(app.url).port;
      const candidates = candidatesDir();
      const apply = (json: string[]) =>
        vega(['learn', 'optimize-prompt', candidates, evalFile, '--apply', ...json], {
          env: { SYSTEM_PROMPT_FILE: promptFile, API_KEY: TEST_API_KEY, PORT: port },
        });
      const result = await apply([]);
      expect(result.code).toBe(1);
      expect(readFileSync(promptFile, 'utf8')).toBe('Be exact.\n');
      expect(result.stdout).toMatch(/^winner: c-exact/m);
      expect(result.stdout).not.toContain('serves another prompt');
      const served = sha('What the server reads.').slice(0, 12);
      expect(result.stderr.trim().split('\n').at(-1)).toBe(
        `vega: server at http://127.0.0.1:${port}/admin/system-prompt/reload reloaded, but serves another prompt (sha256 ${served}…): its SYSTEM_PROMPT_FILE is not ${promptFile}`,
      );

      // --json still prints the whole report (the server's sha256 in it), and fails the same way.
      writeFileSync(promptFile, 'The old prompt.\n');
      const json = await apply(['--json']);
      expect(json.code).toBe(1);
      expect(JSON.parse(json.stdout).applied.server).toMatchObject({ status: 'reloaded', sha256: sha('What the server reads.') });
      expect(json.stderr).toMatch(/serves another prompt/);
      expect(app.app.get(SystemPromptService).get()).toBe('What the server reads.');
    } finally {
      await app.close();
    }
  });

  it('--apply without SYSTEM_PROMPT_FILE fails before calling the model', async () => {
    const result = await vega(['learn', 'optimize-prompt', candidatesDir(), evalFile, '--apply']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--apply needs SYSTEM_PROMPT_FILE: set it to the file the server reads its system prompt from/);
    expect(fake.chatRequests()).toHaveLength(0);
  });

  it('--apply refuses when a call failed, and leaves the file alone (exit 1)', async () => {
    const promptFile = file('system_prompt.txt', 'The old prompt.\n');
    fake.enqueue({ kind: 'status', status: 500 });
    const result = await vega(['learn', 'optimize-prompt', candidatesDir(), evalFile, '--apply', '--concurrency', '1'], {
      env: { SYSTEM_PROMPT_FILE: promptFile, LLM_MAX_RETRIES: '0' },
    });
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^winner: c-exact/m);
    expect(result.stderr).toMatch(/not applied: a-wrong \(1 failed\) had failed calls/);
    expect(readFileSync(promptFile, 'utf8')).toBe('The old prompt.\n');
    expect(readdirSync(temp.dir).filter((name) => name.includes('.bak-'))).toEqual([]);
  });
});
