import { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FakeOllama } from '../support/fake-ollama';
import { execDb } from '../support/seed';
import { queryDb } from '../support/sqlite';
import { seedMany, zeroTablePages } from '../support/corrupt-db';
import { tempDir } from '../support/test-app';
import { ANSI, finished, runVega, spawnVega, VegaOptions, waitForOutput } from '../support/cli';

jest.setTimeout(60_000);

const fake = new FakeOllama({ models: ['mistral'] });
let data: ReturnType<typeof tempDir>;
let env: Record<string, string>;
const dbPath = () => join(data.dir, 'vega.db');
const vega = (args: string[], options: VegaOptions & { input?: string } = {}) =>
  runVega(args, { ...options, env: { ...env, ...options.env } });

beforeAll(async () => {
  await fake.start();
});
afterAll(async () => {
  await fake.stop();
});
beforeEach(() => {
  data = tempDir('vega-cli-');
  env = { VEGA_DATA_DIR: data.dir, OLLAMA_URL: fake.url };
});
afterEach(() => {
  fake.reset();
  data.remove();
});

const oneLine = (text: string) => text.trimEnd().split('\n').length === 1;

describe('vega --help and usage errors', () => {
  it('prints help with examples without booting anything, exit 0, plain when piped', async () => {
    const top = await vega(['--help']);
    expect(top.code).toBe(0);
    expect(top.stdout).toContain('Usage:');
    expect(top.stdout).toMatch(/history\s+recent exchanges/);
    expect(top.stdout).not.toMatch(ANSI);
    for (const command of [['chat'], ['history'], ['db', 'export'], ['gen', 'set'], ['health']]) {
      const help = await vega([...command, '--help']);
      expect(help.code).toBe(0);
      expect(help.stdout).toContain(`vega ${command.join(' ')}`);
      expect(help.stdout).toContain('Examples:');
    }
    // --help never opens the database.
    expect(existsSync(dbPath())).toBe(false);
  });

  it.each([
    [['frobnicate'], /unknown command 'frobnicate'/],
    [['histroy'], /did you mean 'history'/],
    [['history', '--bogus'], /vega history: unknown option '--bogus'/],
    [['history', '--limit', '0'], /--limit must be an integer between 1 and 500/],
    [['history', 'extra'], /too many arguments/],
    [['history', '--status', 'ok,done'], /--status takes a comma list of ok, error, aborted, cached \(got "ok,done"\)/],
    [['feedback', '1', '--rating', '9'], /--rating must be an integer between 1 and 5/],
    [['db'], /give a command: backup, check, vacuum/],
    [['gen', 'set', 'temperature=7'], /temperature must be a number between 0 and 2/],
    [['chat'], /missing required argument/],
  ])('%j → exit 2 with one line on stderr', async (args, message) => {
    const result = await vega(args);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(oneLine(result.stderr)).toBe(true);
    expect(result.stdout).toBe('');
  });
});

describe('vega chat', () => {
  it('streams the tokens to stdout as they arrive and stores the exchange with source cli', async () => {
    const slow = new FakeOllama({ tokenDelayMs: 150, reply: () => 'one two three four' });
    await slow.start();
    try {
      const child = spawnVega(['chat', 'count', 'to', 'four'], { env: { ...env, OLLAMA_URL: slow.url } });
      const arrivals: { at: number; text: string }[] = [];
      child.stdout!.on('data', (chunk: Buffer) => arrivals.push({ at: Date.now(), text: chunk.toString() }));
      const result = await finished(child);
      expect(result.code).toBe(0);
      expect(result.stdout).toBe('one two three four\n');
      // Several writes spread over the answer's duration, not one at the end.
      expect(arrivals.length).toBeGreaterThanOrEqual(3);
      expect(arrivals.at(-1)!.at - arrivals[0].at).toBeGreaterThanOrEqual(300);
      expect(slow.chatRequests()[0].body.messages.at(-1)).toEqual({ role: 'user', content: 'count to four' });
    } finally {
      await slow.stop();
    }
    const rows = await queryDb(dbPath(), 'SELECT prompt, response, source, status FROM conversations');
    expect(rows).toEqual([{ prompt: 'count to four', response: 'one two three four', source: 'cli', status: 'ok' }]);
  });

  it('--json prints the API result; --session continues the conversation; --no-stream prints the whole answer', async () => {
    const first = await vega(['chat', '--json', '--session', 'cli-test', 'hello']);
    expect(first.code).toBe(0);
    const body = JSON.parse(first.stdout);
    expect(body).toMatchObject({ response: 'Echo: hello', session_id: 'cli-test', model: 'mistral', cached: false, conversation_id: 1 });
    expect(body.usage).toEqual({ prompt_tokens: expect.any(Number), completion_tokens: expect.any(Number) });

    const second = await vega(['chat', '--no-stream', '--session', 'cli-test', 'and', 'again']);
    expect(second.stdout).toBe('Echo: and again\n');
    const messages = fake.chatRequests()[1].body.messages;
    expect(messages.slice(-3)).toEqual([
      { role: 'user', content: 'hello' },
      { role: 'assistant', content: 'Echo: hello' },
      { role: 'user', content: 'and again' },
    ]);
  });

  it('fails with one line and exit 1 when the backend is down (the stack only with --verbose)', async () => {
    const down = { ...env, OLLAMA_URL: 'http://127.0.0.1:9', LLM_MAX_RETRIES: '0' };
    const result = await vega(['chat', 'hello'], { env: down });
    expect(result.code).toBe(1);
    expect(oneLine(result.stderr)).toBe(true);
    expect(result.stderr).toMatch(/^vega: /);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    const verbose = await vega(['chat', 'hello', '--verbose'], { env: down });
    expect(verbose.code).toBe(1);
    expect(verbose.stderr).toMatch(/\n\s+at /);
    const rows = await queryDb(dbPath(), 'SELECT status FROM conversations');
    expect(rows).toEqual([{ status: 'error' }, { status: 'error' }]);
  });
});

describe('vega history, session, feedback', () => {
  it('lists, filters and searches as JSON and as a plain table', async () => {
    await vega(['chat', '--session', 's1', 'the circuit breaker opens']);
    await vega(['chat', '--session', 's2', 'sqlite write ahead log']);

    const all = await vega(['history', '--json']);
    expect(all.code).toBe(0);
    const page = JSON.parse(all.stdout);
    expect(page.items.map((item: { prompt: string }) => item.prompt)).toEqual(['sqlite write ahead log', 'the circuit breaker opens']);
    expect(page.items[0]).toMatchObject({ source: 'cli', session_id: 's2', status: 'ok' });
    expect(page.next_cursor).toBeNull();

    expect(JSON.parse((await vega(['history', '--limit', '1', '--json'])).stdout).items).toHaveLength(1);
    expect(JSON.parse((await vega(['history', '--session', 's1', '--json'])).stdout).items).toHaveLength(1);
    const found = JSON.parse((await vega(['history', '--search', 'breaker', '--json'])).stdout);
    expect(found.items.map((item: { prompt: string }) => item.prompt)).toEqual(['the circuit breaker opens']);
    expect(found.items[0].snippet).toContain('<mark>breaker</mark>');

    const table = await vega(['history']);
    expect(table.stdout.split('\n')[0]).toMatch(/^ID\s+TIME \(UTC\)\s+SOURCE\s+SESSION\s+STATUS\s+RATING\s+PROMPT$/);
    expect(table.stdout).toContain('sqlite write ahead log');
    expect(table.stdout).not.toMatch(ANSI);

    // A failed attempt: --status picks the answered exchanges (or the failed ones), as GET /history?status= does.
    await execDb(dbPath(), "UPDATE conversations SET status = 'error' WHERE session_id = 's2'");
    const prompts = async (...args: string[]) =>
      JSON.parse((await vega(['history', ...args, '--json'])).stdout).items.map((item: { prompt: string }) => item.prompt);
    expect(await prompts('--status', 'ok,cached')).toEqual(['the circuit breaker opens']);
    expect(await prompts('--status', 'error')).toEqual(['sqlite write ahead log']);
    expect(await prompts('--status', 'error,aborted', '--search', 'breaker')).toEqual([]);

    const session = await vega(['session', 's1', '--json']);
    expect(JSON.parse(session.stdout).items).toEqual([expect.objectContaining({ prompt: 'the circuit breaker opens', response: 'Echo: the circuit breaker opens' })]);
  });

  it('names the model asked for and the fallback and target that served it: history --json, the session transcript, feedback', async () => {
    const down = new FakeOllama({ models: ['big'] });
    await down.start();
    const downUrl = down.url;
    await down.stop();
    const file = join(data.dir, 'backends.yaml');
    writeFileSync(
      file,
      [
        'targets:',
        `  - { name: gpu-a, kind: ollama, url: "${downUrl}", models: [big] }`,
        `  - { name: gpu-b, kind: ollama, url: "${fake.url}", models: [mistral] }`,
        'fallbacks: { big: [mistral] }',
      ].join('\n'),
    );
    const backends = { env: { BACKENDS_FILE: file, LLM_MAX_RETRIES: '0', NO_COLOR: '1' } };
    const chat = await vega(['chat', '--session', 's9', '--model', 'big', 'who answers?'], backends);
    expect(chat.code).toBe(0);
    expect(chat.stdout).toContain('Echo: who answers?');
    const page = JSON.parse((await vega(['history', '--json'], backends)).stdout);
    expect(page.items[0]).toMatchObject({ id: 1, model: 'big', served_model: 'mistral', target: 'gpu-b' });
    const transcript = await vega(['session', 's9'], backends);
    expect(transcript.stdout).toMatch(/^#1 · .* · cli · big → mistral on gpu-b$/m);
    const rated = await vega(['feedback', '1', '--rating', '5'], backends);
    expect(rated.stdout).toMatch(/^model\s+big → mistral on gpu-b$/m);
  });

  it('feedback updates the row; an unknown id fails with exit 1', async () => {
    await vega(['chat', 'rate me']);
    const result = await vega(['feedback', '1', '--rating', '4', '--tags', 'good', '--notes', 'fine', '--reviewed', '--json']);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ id: 1, rating: 4, tags: 'good', notes: 'fine', reviewed: true });
    expect(await queryDb(dbPath(), 'SELECT rating, tags, notes, reviewed FROM conversations')).toEqual([{ rating: 4, tags: 'good', notes: 'fine', reviewed: 1 }]);
    const missing = await vega(['feedback', '99', '--rating', '3']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe('vega: Conversation 99 not found\n');
  });
});

describe('colour', () => {
  it('is off when piped and with NO_COLOR, on with FORCE_COLOR', async () => {
    await vega(['chat', 'hello']);
    expect((await vega(['history'])).stdout).not.toMatch(ANSI);
    expect((await vega(['history'], { env: { FORCE_COLOR: '1' } })).stdout).toMatch(ANSI);
    expect((await vega(['history'], { env: { FORCE_COLOR: '1', NO_COLOR: '1' } })).stdout).not.toMatch(ANSI);
    const failed = await vega(['feedback', '99', '--rating', '1'], { env: { NO_COLOR: '1' } });
    expect(failed.stderr).not.toMatch(ANSI);
  });
});

describe('vega repl', () => {
  it('keeps the session across prompts, answers /history and /reset, leaves on /exit', async () => {
    const result = await vega(['repl'], { input: 'first question\nsecond question\n/history\n/reset\nthird\n/exit\nnever sent\n' });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Echo: first question\nEcho: second question\n');
    expect(result.stdout).toMatch(/you {2}first question\nvega Echo: first question/);
    expect(result.stdout).toContain('(new session ');
    const chats = fake.chatRequests();
    expect(chats).toHaveLength(3);
    expect(chats[1].body.messages.map((m: { content: string }) => m.content)).toEqual(['first question', 'Echo: first question', 'second question']);
    expect(chats[2].body.messages.map((m: { content: string }) => m.content)).toEqual(['third']);
    const rows = await queryDb<{ session_id: string; source: string }>(dbPath(), 'SELECT session_id, source FROM conversations ORDER BY id');
    expect(rows[0].session_id).toBe(rows[1].session_id);
    expect(rows[2].session_id).not.toBe(rows[0].session_id);
    expect(rows.every((row) => row.source === 'cli')).toBe(true);
  });

  it('Ctrl-C (SIGINT) cancels the answer in flight and its upstream request, and the REPL goes on', async () => {
    fake.enqueue({ kind: 'hang' });
    const child: ChildProcess = spawnVega(['repl'], { env });
    const result = finished(child);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdin!.write('this will hang\n');
    await fake.waitForRequests(1, 20_000);
    child.kill('SIGINT');
    await fake.waitForAbort(0);
    await waitForOutput(() => stderr, '(cancelled)');
    child.stdin!.write('still there?\n');
    await waitForOutput(() => stdout, 'Echo: still there?');
    child.stdin!.end('/exit\n');
    expect((await result).code).toBe(0);
    expect(await queryDb(dbPath(), 'SELECT prompt, status FROM conversations ORDER BY id')).toEqual([
      { prompt: 'this will hang', status: 'aborted' },
      { prompt: 'still there?', status: 'ok' },
    ]);
  });

  it('SIGINT at an idle prompt leaves with exit 0', async () => {
    const child = spawnVega(['repl'], { env });
    const result = finished(child);
    child.stdin!.write('hello\n');
    await fake.waitForRequests(1, 20_000);
    await waitForOutput(() => readFileSync(dbPath()).length > 0 ? 'x' : '', 'x');
    await new Promise((wait) => setTimeout(wait, 300));
    child.kill('SIGINT');
    expect((await result).code).toBe(0);
  });
});

describe('vega gen and db', () => {
  it('gen set persists the settings (used by the next chat), reset restores them', async () => {
    const set = await vega(['gen', 'set', 'temperature=0.2', 'top_k=5', '--json']);
    expect(set.code).toBe(0);
    expect(JSON.parse(set.stdout)).toMatchObject({ temperature: 0.2, top_k: 5, dynamic_generation: false });
    expect(JSON.parse((await vega(['gen', 'show', '--json'])).stdout)).toMatchObject({ temperature: 0.2, top_k: 5 });
    await vega(['chat', 'hi']);
    expect(fake.chatRequests()[0].body.options).toMatchObject({ temperature: 0.2, top_k: 5 });
    expect(JSON.parse((await vega(['gen', 'dynamic', 'on', '--json'])).stdout).dynamic_generation).toBe(true);
    expect(JSON.parse((await vega(['gen', 'reset', '--json'])).stdout)).toMatchObject({ temperature: 0.7, top_k: 40, dynamic_generation: false });
  });

  it('exports, imports, searches, backs up, vacuums, purges and reports stats', async () => {
    await vega(['chat', '--session', 'exp', 'kubernetes pods']);
    await vega(['chat', '--session', 'exp', 'postgres vacuum']);
    const out = join(data.dir, 'export.jsonl');
    const exported = await vega(['db', 'export', '--out', out]);
    expect(exported.code).toBe(0);
    const lines = readFileSync(out, 'utf8').trim().split('\n').map((line) => JSON.parse(line));
    expect(lines.map((line) => line.prompt)).toEqual(['postgres vacuum', 'kubernetes pods']);
    const piped = await vega(['db', 'export']);
    expect(piped.stdout.trim().split('\n').map((line) => JSON.parse(line).id)).toEqual([2, 1]);

    const imported = await vega(['db', 'import', out, '--json']);
    expect(JSON.parse(imported.stdout)).toEqual({ imported: 2 });
    const stats = JSON.parse((await vega(['db', 'stats', '--json'])).stdout);
    expect(stats).toMatchObject({ conversations: 4, path: dbPath() });

    const bad = join(data.dir, 'bad.jsonl');
    writeFileSync(bad, '{"prompt": "a", "response": "b"}\n{"prompt": 3}\n');
    const refused = await vega(['db', 'import', bad]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/line 2: prompt must be a string/);

    const search = JSON.parse((await vega(['db', 'search', 'kubernetes', '--json'])).stdout);
    expect(search.items).toHaveLength(2);
    const backup = JSON.parse((await vega(['db', 'backup', '--json'])).stdout);
    expect(existsSync(backup.path)).toBe(true);
    expect(JSON.parse((await vega(['db', 'vacuum', '--json'])).stdout)).toEqual({ size_before_bytes: expect.any(Number), size_after_bytes: expect.any(Number) });
    expect(JSON.parse((await vega(['db', 'purge', '30', '--json'])).stdout)).toMatchObject({ deleted: 0 });
  });
});

describe('vega db check', () => {
  it('says ok and exits 0 on a sound database, in text and JSON, quick or full', async () => {
    await vega(['chat', 'kubernetes pods']);
    const text = await vega(['db', 'check']);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/ok +quick_check/);
    expect(text.stdout).toMatch(/ok +fts5 integrity-check/);
    const full = await vega(['db', 'check', '--full', '--json']);
    expect(full.code).toBe(0);
    expect(JSON.parse(full.stdout)).toEqual({
      ok: true,
      path: dbPath(),
      integrity: { ok: true, check: 'integrity_check', findings: [] },
      fts: { ok: true, check: 'fts5 integrity-check', findings: [] },
    });
  });

  it('exits 1 with the findings, and says how to restore, when pages are damaged', async () => {
    await vega(['db', 'stats']);
    await seedMany(dbPath(), 3000);
    await zeroTablePages(dbPath(), 8);
    const result = await vega(['db', 'check', '--json']);
    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout);
    expect(report.ok).toBe(false);
    expect(report.integrity.check).toBe('quick_check');
    expect(report.integrity.findings.length).toBeGreaterThan(0);
    expect(result.stderr).toContain(`restore a backup from ${join(data.dir, 'backups')}`);
    const text = await vega(['db', 'check']);
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(/FAIL +quick_check/);
  });

  it('exits 1 on a file that is not a database at all', async () => {
    writeFileSync(dbPath(), Buffer.alloc(8192, 0x41));
    const result = await vega(['db', 'check', '--json']);
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout).integrity.findings.join(' ')).toMatch(/not a database/);
  });
});

describe('vega health', () => {
  it('reports backend, model and database; exit 0 when all are fine', async () => {
    const result = await vega(['health', '--json']);
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report.ok).toBe(true);
    expect(report.checks.backend).toMatchObject({ ok: true, version: '0.12.6' });
    expect(report.checks.model).toMatchObject({ ok: true, name: 'mistral' });
    expect(report.checks.database).toMatchObject({ ok: true, path: dbPath() });
  });

  it('exit 1 with one line when the model is missing or the backend unreachable', async () => {
    const missing = await vega(['health'], { env: { MODEL_NAME: 'llama3' } });
    expect(missing.code).toBe(1);
    expect(missing.stdout).toMatch(/FAIL\s+model\s+llama3 is not on the backend/);
    expect(oneLine(missing.stderr)).toBe(true);
    const down = await vega(['health', '--json'], { env: { OLLAMA_URL: 'http://127.0.0.1:9' } });
    expect(down.code).toBe(1);
    expect(JSON.parse(down.stdout).checks.backend.ok).toBe(false);
  });
});
