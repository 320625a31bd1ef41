import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { runVega } from '../support/cli';
import { FakeOllama } from '../support/fake-ollama';
import { tempDir } from '../support/test-app';

jest.setTimeout(120_000);

const BASE = 'qwen2.5:1.5b-instruct';
let temp: ReturnType<typeof tempDir>;
let fake: FakeOllama;
const vega = (args: string[], env: Record<string, string> = {}) =>
  runVega(args, { env: { VEGA_DATA_DIR: join(temp.dir, 'data'), OLLAMA_URL: fake.url, MODEL_NAME: BASE, ...env }, cwd: temp.dir });
const digestOf = (bytes: Buffer | string) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
const routes = () => fake.requests.map((request) => `${request.method} ${request.path.replace(/sha256:[0-9a-f]{64}/, 'sha256:…')}`);

/** A GGUF adapter as far as Ollama's first check goes: the magic, then bytes. */
function writeGguf(name: string, seed: string): { path: string; bytes: Buffer } {
  const bytes = Buffer.concat([Buffer.from('GGUF'), Buffer.from([3, 0, 0, 0]), createHash('sha512').update(seed).digest()]);
  const path = join(temp.dir, name);
  writeFileSync(path, bytes);
  return { path, bytes };
}

beforeEach(async () => {
  temp = tempDir('vega-train-register-');
  fake = new FakeOllama({ models: [BASE] });
  await fake.start();
});
afterEach(async () => {
  await fake.stop();
  temp.remove();
});

describe('vega train register', () => {
  it('--eval runs the eval set against the new model and writes the run report', async () => {
    const adapter = writeGguf('adapter.gguf', 'eval');
    writeFileSync(
      join(temp.dir, 'eval.jsonl'),
      [
        JSON.stringify({ prompt: 'hello there', expected: 'Echo: hello there' }),
        'not json',
        JSON.stringify({ prompt: 'capital of France?', expected: 'Paris' }),
      ].join('\n'),
    );
    const result = await vega(['train', 'register', '--adapter', adapter.path, '--base', BASE, '--name', 'vega-tuned', '--eval', 'eval.jsonl', '--json']);
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('eval.jsonl: line 2 skipped');
    const summary = JSON.parse(result.stdout);
    expect(summary).toMatchObject({ name: 'vega-tuned', evaluation: { summary: { items: 2, answered: 2, failed: 0, mean: 0.5 } } });
    // The new model answered, with its own system prompt (none sent over it).
    const asked = fake.chatRequests().map((request) => request.body);
    expect(asked).toHaveLength(2);
    for (const body of asked) {
      expect(body.model).toBe('vega-tuned');
      expect(body.messages.map((message: { role: string }) => message.role)).toEqual(['user']);
    }
    const report = JSON.parse(readFileSync(summary.evaluation.report_path, 'utf8'));
    expect(summary.evaluation.report_path.startsWith(join(temp.dir, 'data', 'runs'))).toBe(true);
    expect(report).toMatchObject({ model: 'vega-tuned', summary: { mean: 0.5 } });
  });

  it('--eval with a file that has no usable line is refused before anything is uploaded', async () => {
    const adapter = writeGguf('adapter.gguf', 'bad-eval');
    writeFileSync(join(temp.dir, 'eval.jsonl'), 'nothing here\n');
    const result = await vega(['train', 'register', '--adapter', adapter.path, '--base', BASE, '--name', 'vega-tuned', '--eval', 'eval.jsonl']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/eval\.jsonl/);
    expect(routes()).toEqual([]);
  });

  it('uploads a GGUF adapter, creates the model with the system prompt and parameters, and the model answers', async () => {
    const adapter = writeGguf('adapter.gguf', 'one');
    writeFileSync(join(temp.dir, 'system.txt'), 'You are the tuned Vega.\n');
    const result = await vega([
      'train', 'register', '--adapter', adapter.path, '--base', BASE, '--name', 'vega-tuned',
      '--system-prompt', 'system.txt', '--param', 'temperature=0.3', '--param', 'stop=<|im_end|>', '--param', 'num_ctx=4096', '--json',
    ]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const digest = digestOf(adapter.bytes);
    const summary = JSON.parse(result.stdout);
    expect(summary).toEqual({
      name: 'vega-tuned',
      model: 'vega-tuned:latest',
      base: BASE,
      ollama_url: fake.url,
      adapter: { path: adapter.path, files: [{ name: 'adapter.gguf', bytes: adapter.bytes.length, digest, uploaded: true }] },
      system_prompt: { source: 'file', file: 'system.txt', chars: 'You are the tuned Vega.'.length },
      parameters: { temperature: 0.3, stop: ['<|im_end|>'], num_ctx: 4096 },
      statuses: [
        'parsing GGUF',
        `using existing layer sha256:${createHash('sha256').update(`${BASE}`).digest('hex')}`,
        `using existing layer ${digest}`,
        expect.stringMatching(/^creating new layer sha256:[0-9a-f]{64}$/),
        expect.stringMatching(/^creating new layer sha256:[0-9a-f]{64}$/),
        'writing manifest',
        'success',
      ],
    });
    expect(routes()).toEqual(['POST /api/show', 'HEAD /api/blobs/sha256:…', 'POST /api/blobs/sha256:…', 'POST /api/create', 'GET /api/tags']);
    expect(fake.requests.find((request) => request.path === '/api/create')?.body).toEqual({
      model: 'vega-tuned',
      from: BASE,
      adapters: { 'adapter.gguf': digest },
      system: 'You are the tuned Vega.',
      parameters: { temperature: 0.3, stop: ['<|im_end|>'], num_ctx: 4096 },
      stream: true,
    });
    expect(fake.createdModel('vega-tuned')).toMatchObject({ from: BASE, system: 'You are the tuned Vega.' });

    const chat = await vega(['chat', '--model', 'vega-tuned', '--json', 'hello there']);
    expect(chat.code).toBe(0);
    expect(JSON.parse(chat.stdout)).toMatchObject({ response: 'Echo: hello there', model: 'vega-tuned' });
  });

  it('uses SYSTEM_PROMPT_FILE by default, and a blob Ollama already holds is not sent again', async () => {
    const adapter = writeGguf('tuned.gguf', 'two');
    const systemFile = join(temp.dir, 'server-system.txt');
    writeFileSync(systemFile, 'Server-wide system prompt.');
    const env = { SYSTEM_PROMPT_FILE: systemFile };
    const first = await vega(['train', 'register', '--adapter', adapter.path, '--base', BASE, '--name', 'first', '--json'], env);
    expect(first.code).toBe(0);
    expect(JSON.parse(first.stdout).system_prompt).toEqual({ source: 'SYSTEM_PROMPT_FILE', file: systemFile, chars: 26 });
    expect(fake.createdModel('first')).toMatchObject({ system: 'Server-wide system prompt.' });
    expect(fake.createdModel('first')).not.toHaveProperty('parameters');

    fake.reset();
    const second = await vega(['train', 'register', '--adapter', adapter.path, '--base', BASE, '--name', 'second:v2', '--json'], env);
    expect(second.code).toBe(0);
    expect(JSON.parse(second.stdout)).toMatchObject({ model: 'second:v2', adapter: { files: [{ name: 'tuned.gguf', uploaded: false }] } });
    expect(routes()).toEqual(['POST /api/show', 'HEAD /api/blobs/sha256:…', 'POST /api/create', 'GET /api/tags']);
  });

  it('a safetensors adapter directory: its weights and adapter_config.json are uploaded, Ollama converts them', async () => {
    const dir = join(temp.dir, 'outputs', 'adapter');
    mkdirSync(join(dir, 'checkpoint-10'), { recursive: true });
    writeFileSync(join(dir, 'adapter_model.safetensors'), Buffer.from('weights'));
    writeFileSync(join(dir, 'adapter_config.json'), '{"r":16,"lora_alpha":32}');
    writeFileSync(join(dir, 'tokenizer.json'), '{}');
    writeFileSync(join(dir, 'checkpoint-10', 'adapter_model.safetensors'), Buffer.from('older'));
    const result = await vega(['train', 'register', '--adapter', 'outputs/adapter', '--base', BASE, '--name', 'support-bot']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`registered support-bot:latest (from ${BASE}) at ${fake.url}\n`);
    expect(result.stdout).toMatch(/^ {2}adapter {2}adapter_model\.safetensors {2}7 B {2}sha256:[0-9a-f]{12}… {2}uploaded$/m);
    expect(result.stdout).toMatch(/^ {2}adapter {2}adapter_config\.json {2}24 B {2}sha256:[0-9a-f]{12}… {2}uploaded$/m);
    expect(result.stdout).toContain('  system   none\n');
    expect(result.stdout).toContain('Try it: vega chat --model support-bot "Hello"');
    expect(fake.createdModel('support-bot')?.adapters).toEqual({
      'adapter_model.safetensors': digestOf('weights'),
      'adapter_config.json': digestOf('{"r":16,"lora_alpha":32}'),
    });
    expect(fake.blobDigests().sort()).toEqual([digestOf('weights'), digestOf('{"r":16,"lora_alpha":32}')].sort());
  });

  it('a base model Ollama does not have → exit 1 before anything is uploaded', async () => {
    const adapter = writeGguf('adapter.gguf', 'three');
    const result = await vega(['train', 'register', '--adapter', adapter.path, '--base', 'llama3.2:3b', '--name', 'x']);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`vega: base model llama3.2:3b is not in Ollama at ${fake.url} (model 'llama3.2:3b' not found); pull it first: ollama pull llama3.2:3b\n`);
    expect(routes()).toEqual(['POST /api/show']);
  });

  it('Ollama down → exit 1 with one line, as the other commands', async () => {
    const adapter = writeGguf('adapter.gguf', 'four');
    const closed = await closedPort();
    const result = await vega(['train', 'register', '--adapter', adapter.path, '--base', BASE, '--name', 'x'], { OLLAMA_URL: `http://127.0.0.1:${closed}` });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`vega: Ollama is unreachable at http://127.0.0.1:${closed} (connection refused); is it running?\n`);
  });

  it.each([
    [['--adapter', 'nowhere.gguf', '--base', BASE, '--name', 'x'], /^vega: adapter nowhere\.gguf not found; give a GGUF adapter file, or the directory/],
    [['--adapter', 'notes.txt', '--base', BASE, '--name', 'x'], /^vega: adapter notes\.txt is not a GGUF file/],
    [['--adapter', 'half', '--base', BASE, '--name', 'x'], /^vega: adapter directory half has adapter_model\.safetensors but no adapter_config\.json/],
    [['--adapter', 'notes.txt', '--base', BASE], /^vega: vega train register: --name is required/],
    [['--adapter', 'notes.txt', '--base', BASE, '--name', 'x', '--param', 'temperature'], /--param must look like name=value, e\.g\. temperature=0\.7 \(got "temperature"\)/],
    [['--adapter', 'notes.txt', '--base', BASE, '--name', 'my model'], /^vega: --name "my model" is not an Ollama model name/],
    [['--adapter', 'ok.gguf', '--base', BASE, '--name', 'x', '--system-prompt', 'missing.txt'], /^vega: --system-prompt missing\.txt cannot be read \(ENOENT\)$/],
  ])('%j → exit 2 with one line, nothing sent to Ollama', async (args, message) => {
    writeFileSync(join(temp.dir, 'notes.txt'), 'not an adapter');
    writeGguf('ok.gguf', 'five');
    mkdirSync(join(temp.dir, 'half'));
    writeFileSync(join(temp.dir, 'half', 'adapter_model.safetensors'), 'w');
    const result = await vega(['train', 'register', ...args]);
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toMatch(message);
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(fake.requests).toEqual([]);
  });
});

/** A loopback port with nothing listening (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
