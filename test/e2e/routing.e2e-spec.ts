import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { eventually } from '../support/eventually';
import { FakeOllama, type FakeOllamaOptions } from '../support/fake-ollama';
import { FakeOpenAi } from '../support/fake-openai';
import { queryDb } from '../support/sqlite';
import { startTestApp, tempDir, type TestApp } from '../support/test-app';

/*
 * Several model servers behind one Vega (issue #22): fake Ollamas (different models, one that
 * runs one generation at a time and answers 503 "server busy" beyond it, one slow, one that
 * dies while loading a model) and a fake OpenAI-compatible server, from a backends file. Each
 * fake answers with its own name, so an answer tells which target served it.
 */

interface TargetEntry {
  name: string;
  kind?: 'ollama' | 'openai';
  server: { url: string };
  weight?: number;
  max_concurrency?: number;
  models?: string[];
  timeouts?: { total_sec?: number; first_token_sec?: number; idle_sec?: number };
}

interface Row {
  model: string;
  response: string;
  status: string;
}

describe('several model servers (routing)', () => {
  const servers: { stop(): Promise<void> }[] = [];
  const dirs: (() => void)[] = [];
  let app: TestApp | undefined;

  afterEach(async () => {
    await app?.close();
    app = undefined;
    await Promise.all(servers.splice(0).map((server) => server.stop()));
    for (const remove of dirs.splice(0)) remove();
  });

  /** A fake Ollama that answers `from <name>`. */
  async function ollama(name: string, options: FakeOllamaOptions = {}): Promise<FakeOllama> {
    const fake = new FakeOllama({ models: ['llama3.2', 'mistral'], reply: () => `from ${name}`, ...options });
    await fake.start();
    servers.push(fake);
    return fake;
  }

  async function openai(name: string, models: string[]): Promise<FakeOpenAi> {
    const fake = new FakeOpenAi({ models, reply: () => `from ${name}` });
    await fake.start();
    servers.push(fake);
    return fake;
  }

  /** Vega with a backends file of `targets` (JSON is YAML too). */
  async function vega(strategy: string, targets: TargetEntry[], env: Record<string, string> = {}): Promise<TestApp> {
    const temp = tempDir('vega-backends-');
    dirs.push(temp.remove);
    const file = join(temp.dir, 'backends.yaml');
    const entries = targets.map(({ server, kind = 'ollama', ...target }) => ({ ...target, kind, url: server.url }));
    writeFileSync(file, JSON.stringify({ strategy, targets: entries }, null, 2));
    app = await startTestApp({ BACKENDS_FILE: file, ...env });
    return app;
  }

  let asked = 0;
  /** Asks Vega (`/chat`; each prompt new, so never a cached answer) and returns the status and the answer's text. */
  async function ask(model: string, prompt = 'hello'): Promise<{ status: number; text: string; body: Record<string, unknown> }> {
    asked += 1;
    const res = await app!.request('/chat', { body: { prompt: `${prompt} (${asked})`, model } });
    const body = (await res.json()) as Record<string, unknown>;
    return { status: res.status, text: typeof body.response === 'string' ? body.response : JSON.stringify(body), body };
  }

  /** How many of `answers` each target gave, by the name in the text. */
  function tally(answers: { text: string }[]): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const { text } of answers) counts[text] = (counts[text] ?? 0) + 1;
    return counts;
  }

  async function sequentially(count: number, model: string): Promise<{ status: number; text: string }[]> {
    const answers: { status: number; text: string }[] = [];
    for (let index = 0; index < count; index += 1) answers.push(await ask(model, `question ${index}`));
    return answers;
  }

  const rows = () => queryDb<Row>(app!.dbPath, 'SELECT model, response, status FROM conversations ORDER BY id');

  describe('strategies', () => {
    it('weighted: each target gets its share of the weights', async () => {
      const [a, b, c] = [await ollama('a'), await ollama('b'), await ollama('c')];
      await vega('weighted', [
        { name: 'a', server: a, weight: 2 },
        { name: 'b', server: b, weight: 1 },
        { name: 'c', server: c, weight: 1 },
      ]);
      const answers = await sequentially(20, 'llama3.2');
      expect(answers.every((answer) => answer.status === 200)).toBe(true);
      expect(tally(answers)).toEqual({ 'from a': 10, 'from b': 5, 'from c': 5 });
    });

    it('least-busy: fills targets by requests in flight relative to their max concurrency, never past it while another has room', async () => {
      const small = await ollama('small', { tokenDelayMs: 400 });
      const big = await ollama('big', { tokenDelayMs: 400 });
      await vega('least-busy', [
        { name: 'small', server: small, max_concurrency: 2 },
        { name: 'big', server: big, max_concurrency: 4 },
      ]);
      const answers = await Promise.all(Array.from({ length: 6 }, (_, index) => ask('llama3.2', `q${index}`)));
      expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200, 200, 200, 200]);
      expect(tally(answers)).toEqual({ 'from small': 2, 'from big': 4 });
      expect(small.peakConcurrency()).toBeLessThanOrEqual(2);
    });

    it('priority: every request goes to the first target; the next takes over only when it fails', async () => {
      const [first, second, third] = [await ollama('first'), await ollama('second'), await ollama('third')];
      await vega('priority', [
        { name: 'first', server: first },
        { name: 'second', server: second },
        { name: 'third', server: third },
      ]);
      expect(tally(await sequentially(4, 'llama3.2'))).toEqual({ 'from first': 4 });
      await first.stop();
      expect(tally(await sequentially(3, 'llama3.2'))).toEqual({ 'from second': 3 });
      expect((await rows()).map((row) => row.status)).toEqual(Array(7).fill('ok'));
    });

    it('loaded-first: picks the target whose /api/ps shows the model loaded, though it comes later and is as idle', async () => {
      const cold = await ollama('cold');
      const warm = await ollama('warm');
      // The operator warmed `mistral` on the second server only.
      expect((await fetch(`${warm.url}/api/generate`, { method: 'POST', body: JSON.stringify({ model: 'mistral' }) })).status).toBe(200);
      await vega('loaded-first', [
        { name: 'cold', server: cold },
        { name: 'warm', server: warm },
      ], { LOADED_POLL_SEC: '0.1' });
      const polls = () => Promise.resolve(warm.requests.filter((request) => request.path === '/api/ps' && request.completed).length);
      expect(await eventually(polls, (count) => count >= 2)).toBeGreaterThanOrEqual(2);
      expect(tally(await sequentially(3, 'mistral'))).toEqual({ 'from warm': 3 });
      // No server has llama3.2 loaded: the least busy, the first in order on a tie.
      expect(tally(await sequentially(1, 'llama3.2'))).toEqual({ 'from cold': 1 });
    });

    it('loaded-first: a model an answer came from counts as loaded on that target before the next poll', async () => {
      const first = await ollama('first');
      const second = await ollama('second');
      await vega('loaded-first', [
        { name: 'first', server: first, max_concurrency: 1 },
        { name: 'second', server: second, max_concurrency: 1 },
      ], { LOADED_POLL_SEC: '3600' });
      // The only poll (at start) saw nothing loaded anywhere.
      first.enqueue({ kind: 'delay_first', delayMs: 800 });
      const long = ask('llama3.2', 'a long one');
      await first.waitForRequests(1);
      // The first target is full: mistral goes to the second, and is loaded there now.
      expect((await ask('mistral')).text).toBe('from second');
      expect((await long).text).toBe('from first');
      // Both idle again: mistral goes where it is loaded, not to the first in order.
      expect(tally(await sequentially(2, 'mistral'))).toEqual({ 'from second': 2 });
    });
  });

  describe('servers that cannot take a request', () => {
    it("moves a request a server answered 503 \"server busy\" to another target, never to the client while one has room", async () => {
      // One generation at a time and no queue: Ollama's 503 for every other request.
      const single = await ollama('single', { numParallel: 1, maxQueue: 0, tokenDelayMs: 300 });
      const roomy = await ollama('roomy');
      await vega('priority', [
        { name: 'single', server: single },
        { name: 'roomy', server: roomy },
      ]);
      const answers = await Promise.all(Array.from({ length: 4 }, (_, index) => ask('llama3.2', `q${index}`)));
      expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200, 200]);
      expect(tally(answers)).toEqual({ 'from single': 1, 'from roomy': 3 });
      expect(single.chatRequests()).toHaveLength(4);
      expect((await rows()).map((row) => row.status)).toEqual(Array(4).fill('ok'));
    });

    it('sends a target with max_concurrency 1 nothing more while it is busy and another has room', async () => {
      const single = await ollama('single', { numParallel: 1, maxQueue: 0, tokenDelayMs: 300 });
      const roomy = await ollama('roomy');
      await vega('priority', [
        { name: 'single', server: single, max_concurrency: 1 },
        { name: 'roomy', server: roomy },
      ]);
      const answers = await Promise.all(Array.from({ length: 4 }, (_, index) => ask('llama3.2', `q${index}`)));
      expect(tally(answers)).toEqual({ 'from single': 1, 'from roomy': 3 });
      expect(single.chatRequests()).toHaveLength(1);
    });

    it('loses no request that had not started streaming when a target dies while loading the model: others answer, all are stored', async () => {
      const dying = await ollama('dying', { loadDelayMs: 30_000 });
      const healthy = await ollama('healthy');
      await vega('priority', [
        { name: 'dying', server: dying },
        { name: 'healthy', server: healthy },
      ]);
      const chats = [ask('llama3.2', 'one'), ask('llama3.2', 'two')];
      const streamed = app!.request('/v1/chat/completions', {
        body: { model: 'llama3.2', stream: true, messages: [{ role: 'user', content: 'three' }] },
      });
      await dying.waitForRequests(3);
      await dying.stop();
      const answers = await Promise.all(chats);
      expect(answers.map((answer) => [answer.status, answer.text])).toEqual([
        [200, 'from healthy'],
        [200, 'from healthy'],
      ]);
      const stream = await streamed;
      expect(stream.status).toBe(200);
      const events = (await stream.text()).split('\n').filter((line) => line.startsWith('data: '));
      expect(events.pop()).toBe('data: [DONE]');
      const text = events.map((line) => (JSON.parse(line.slice(6)) as { choices: { delta: { content?: string } }[] }).choices[0]?.delta.content ?? '').join('');
      expect(text).toBe('from healthy');
      const stored = await eventually(rows, (list) => list.length === 3);
      expect(stored.map((row) => [row.status, row.response])).toEqual(Array(3).fill(['ok', 'from healthy']));
      expect(healthy.chatRequests()).toHaveLength(3);
    });
  });

  it('sends a model only one target has to that target, whatever its kind', async () => {
    const gpu = await ollama('gpu', { models: ['llama3.2', 'mistral'] });
    const small = await ollama('small', { models: ['llama3.2', 'qwen2.5:7b'] });
    const hosted = await openai('hosted', ['gpt-4o-mini']);
    await vega('loaded-first', [
      { name: 'gpu', server: gpu },
      { name: 'small', server: small },
      { name: 'hosted', kind: 'openai', server: hosted },
    ]);
    expect(await ask('qwen2.5:7b')).toMatchObject({ status: 200, text: 'from small' });
    expect(await ask('gpt-4o-mini')).toMatchObject({ status: 200, text: 'from hosted' });
    expect(await ask('mistral')).toMatchObject({ status: 200, text: 'from gpu' });
    expect((await rows()).map((row) => [row.model, row.response])).toEqual([
      ['qwen2.5:7b', 'from small'],
      ['gpt-4o-mini', 'from hosted'],
      ['mistral', 'from gpu'],
    ]);
  });

  describe('per-target timeouts', () => {
    it("bound the attempts on that target in place of LLM_*_TIMEOUT_SEC, shorter or longer", async () => {
      const hasty = await ollama('hasty', { models: ['mistral'] });
      const patient = await ollama('patient', { models: ['llama3.2'], tokenDelayMs: 300, reply: () => 'from patient, at last' });
      await vega(
        'loaded-first',
        [
          { name: 'hasty', server: hasty, models: ['mistral'], timeouts: { first_token_sec: 0.3 } },
          { name: 'patient', server: patient, models: ['llama3.2'], timeouts: { total_sec: 20, first_token_sec: 20, idle_sec: 20 } },
        ],
        { LLM_TIMEOUT_SEC: '0.6', LLM_FIRST_TOKEN_TIMEOUT_SEC: '0.6', LLM_IDLE_TIMEOUT_SEC: '0.6', LLM_MAX_RETRIES: '0' },
      );
      hasty.enqueue({ kind: 'delay_first', delayMs: 5_000 });
      const cut = await ask('mistral');
      expect(cut.status).toBe(504);
      expect(cut.text).toContain('The model sent no token within 0.3 s');
      // Four words at 300 ms each: longer than the global 0.6 s, within the target's 20 s.
      expect(await ask('llama3.2')).toMatchObject({ status: 200, text: 'from patient, at last' });
    });
  });
});
