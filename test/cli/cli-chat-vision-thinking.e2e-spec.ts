import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FakeOllama } from '../support/fake-ollama';
import { tempDir } from '../support/test-app';
import { runVega, VegaOptions } from '../support/cli';

jest.setTimeout(60_000);

const fake = new FakeOllama({ models: ['mistral'] });
let data: ReturnType<typeof tempDir>;
let env: Record<string, string>;
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
