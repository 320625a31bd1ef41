import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FakeOllama } from '../support/fake-ollama';
import { queryDb } from '../support/sqlite';
import { tempDir } from '../support/test-app';
import { runVega, VegaOptions } from '../support/cli';

jest.setTimeout(60_000);

const fake = new FakeOllama({ models: ['mistral'] });
let data: ReturnType<typeof tempDir>;
let env: Record<string, string>;
const dbPath = () => join(data.dir, 'vega.db');
/** A 1×1 PNG. */
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64');
const vega = (args: string[], options: VegaOptions & { input?: string } = {}) => runVega(args, { ...options, env: { ...env, ...options.env } });

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

describe('vega chat --think / --format: bad values', () => {
  /** Exit 2, one line on stderr naming the option, nothing asked of the model. */
  async function expectUsageError(args: string[], message: RegExp): Promise<void> {
    const result = await vega(['chat', ...args, 'hello']);
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 2, stderr: expect.stringMatching(message) });
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(result.stdout).toBe('');
    expect(fake.chatRequests()).toHaveLength(0);
  }

  it('refuses an unknown --think-level', async () => {
    await expectUsageError(['--think-level', 'extreme'], /--think-level must be one of low, medium, high, max \(got "extreme"\)/);
  });

  it('refuses a --format that is not json, a schema, or a readable schema file', async () => {
    await expectUsageError(['--format', 'yaml'], /--format must be json, a JSON Schema, or a file holding one; cannot read yaml: ENOENT/);
    await expectUsageError(['--format', '{"type": '], /--format: the schema is not JSON/);
    await expectUsageError(['--format', '{"type": "banana"}'], /--format: the value is not a valid JSON Schema/);
    const notJson = join(data.dir, 'schema.txt');
    writeFileSync(notJson, 'type: object');
    await expectUsageError(['--format', notJson], /--format: .*schema\.txt is not JSON/);
  });
});

describe('vega chat --image / --think / --format on the wire', () => {
  const vision = new FakeOllama({
    models: [{ name: 'qwen3-vl', capabilities: ['completion', 'thinking', 'vision'] }],
    respond: () => ({ thinking: 'I look at the picture.', content: 'A dot.' }),
  });
  const png = () => {
    const file = join(data.dir, 'dot.png');
    writeFileSync(file, PNG);
    return file;
  };
  beforeAll(async () => {
    await vision.start();
  });
  afterAll(async () => {
    await vision.stop();
  });
  afterEach(() => vision.reset());
  const ask = (args: string[], extra: Record<string, string> = {}) =>
    vega(['chat', ...args], { env: { OLLAMA_URL: vision.url, MODEL_NAME: 'qwen3-vl', ...extra } });

  it('sends each --image with the prompt, prints the reasoning on stderr and only the answer on stdout', async () => {
    const file = png();
    const result = await ask(['--image', file, '--image', file, '--think', 'what', 'is', 'this?']);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('A dot.\n');
    expect(result.stderr).toContain('I look at the picture.');
    const sent = vision.chatRequests()[0].body as { think?: unknown; messages: { content: string; images?: string[] }[] };
    expect(sent.think).toBe(true);
    expect(sent.messages.at(-1)).toEqual({ role: 'user', content: 'what is this?', images: [PNG.toString('base64'), PNG.toString('base64')] });
    expect(await queryDb(dbPath(), 'SELECT prompt, response, source, status FROM conversations')).toEqual([
      { prompt: 'what is this?', response: 'A dot.', source: 'cli', status: 'ok' },
    ]);
  });

  it('marks the reasoning dimmed when colour is on, and --no-stream prints it before the answer', async () => {
    const coloured = await ask(['--think', 'hello'], { FORCE_COLOR: '1' });
    expect(coloured.stderr).toContain(`\x1b[2mI look at the picture.`);
    const whole = await ask(['--think', '--no-stream', 'hello']);
    expect(whole.stdout).toBe('A dot.\n');
    expect(whole.stderr).toContain('I look at the picture.\n');
  });

  it('vega repl shows the reasoning of a model that thinks on stderr too, the answers on stdout', async () => {
    const result = await vega(['repl'], { input: 'hello\n/exit\n', env: { OLLAMA_URL: vision.url, MODEL_NAME: 'qwen3-vl' } });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('A dot.');
    expect(result.stdout).not.toContain('I look at the picture.');
    expect(result.stderr).toContain('I look at the picture.');
  });

  it('--json carries the reasoning as thinking; --format json and a schema file go to the backend', async () => {
    const schemaFile = join(data.dir, 'city.json');
    const schema = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] };
    writeFileSync(schemaFile, JSON.stringify(schema));
    const json = await ask(['--json', '--think-level', 'low', '--format', 'json', 'one']);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ response: 'A dot.', thinking: 'I look at the picture.', model: 'qwen3-vl' });
    expect(json.stderr).not.toContain('I look at the picture.');
    expect((await ask(['--format', schemaFile, 'two'])).code).toBe(0);
    const sent = vision.chatRequests().map((request) => request.body as { think?: unknown; format?: unknown });
    expect(sent.map(({ think, format }) => ({ think, format }))).toEqual([
      { think: 'low', format: 'json' },
      { think: undefined, format: schema },
    ]);
  });

  it('exits 2 with one line naming the file for a missing file, a directory, a non-image, or too many images', async () => {
    const notImage = join(data.dir, 'notes.txt');
    writeFileSync(notImage, 'not a picture at all');
    const cases: [string[], RegExp][] = [
      [['--image', join(data.dir, 'missing.png')], /--image .*missing\.png: cannot read it \(ENOENT\)/],
      [['--image', data.dir], /--image .*: not a file/],
      [['--image', notImage], /--image .*notes\.txt: not a PNG, JPEG, GIF or WebP image/],
      [Array.from({ length: 5 }, () => ['--image', png()]).flat(), /--image may be given at most 4 times \(got 5\)/],
    ];
    for (const [args, message] of cases) {
      const result = await ask([...args, 'look']);
      expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 2, stderr: expect.stringMatching(message) });
      expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
    }
    const big = join(data.dir, 'big.png');
    writeFileSync(big, Buffer.concat([PNG, Buffer.alloc(2000)]));
    const tooLarge = await ask(['--image', big, 'look'], { IMAGE_MAX_BYTES: '1024' });
    expect(tooLarge.code).toBe(2);
    expect(tooLarge.stderr).toMatch(/--image .*big\.png: the image is \d+ bytes, more than the 1024 bytes allowed \(IMAGE_MAX_BYTES\)/);
    expect(vision.chatRequests()).toHaveLength(0);
  });
});
