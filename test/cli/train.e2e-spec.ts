import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { runVega } from '../support/cli';
import { tempDir } from '../support/test-app';

jest.setTimeout(120_000);

let temp: ReturnType<typeof tempDir>;
const vega = (args: string[]) => runVega(args, { env: { VEGA_DATA_DIR: join(temp.dir, 'data') }, cwd: temp.dir });
const jsonLines = (text: string) => text.trim().split('\n').filter(Boolean).map((line) => JSON.parse(line));
const read = (...parts: string[]) => readFileSync(join(temp.dir, ...parts), 'utf8');

/** Writes `config.yaml` in the temp dir (relative paths in it are relative to that dir). */
function writeConfig(config: Record<string, unknown>): string {
  const path = join(temp.dir, 'config.yaml');
  writeFileSync(path, stringify(config));
  return path;
}

const BASE = { hf: 'Qwen/Qwen2.5-1.5B-Instruct', ollama: 'qwen2.5:1.5b-instruct' };

beforeEach(() => {
  temp = tempDir('vega-train-cli-');
  writeFileSync(
    join(temp.dir, 'examples.jsonl'),
    [
      '{"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"q1"},{"role":"assistant","content":"a1"}]}',
      '{"prompt":"q2","response":"a2"}',
      '{not json',
      '{"instruction":"q3","input":"ctx","output":"a3"}',
    ].join('\n'),
  );
  writeFileSync(join(temp.dir, 'system.txt'), 'You are the Vega assistant.\n');
});
afterEach(() => temp.remove());

describe('vega train --config', () => {
  it('writes the bundle: chat dataset, Axolotl config, Modelfile and README with the exact commands', async () => {
    const config = writeConfig({
      base_model: BASE,
      dataset: { source: 'file', path: 'examples.jsonl' },
      output_dir: 'bundle',
      chat_template: 'chatml',
      lora: { r: 8, alpha: 16, dropout: 0.1, target_modules: ['q_proj', 'v_proj'] },
      training: { epochs: 2, learning_rate: 0.0001, batch_size: 4, gradient_accumulation_steps: 2, max_seq_length: 1024, val_set_size: 0.1, seed: 7 },
      register: { name: 'vega-tuned', system_prompt_file: 'system.txt', parameters: { temperature: 0.3, num_ctx: 4096 } },
    });
    const result = await vega(['train', '--config', config]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`Bundle written to ${join(temp.dir, 'bundle')}`);
    expect(result.stdout).toMatch(/^records written\s+3\s+chat format$/m);
    expect(result.stdout).toMatch(/^records skipped\s+1\s+invalid-json ×1: examples\.jsonl: line 3/m);
    expect(result.stdout).toContain('Vega does not train');
    expect(readdirSync(join(temp.dir, 'bundle')).sort()).toEqual(['Modelfile', 'README.md', 'axolotl.yaml', 'dataset.jsonl']);

    expect(jsonLines(read('bundle', 'dataset.jsonl'))).toEqual([
      { messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'q1' }, { role: 'assistant', content: 'a1' }] },
      { messages: [{ role: 'user', content: 'q2' }, { role: 'assistant', content: 'a2' }] },
      { messages: [{ role: 'user', content: 'q3\n\nctx' }, { role: 'assistant', content: 'a3' }] },
    ]);

    const axolotl = parse(read('bundle', 'axolotl.yaml'));
    expect(axolotl).toMatchObject({
      base_model: 'Qwen/Qwen2.5-1.5B-Instruct',
      load_in_4bit: false,
      load_in_8bit: false,
      chat_template: 'chatml',
      datasets: [{ path: 'dataset.jsonl', ds_type: 'json', type: 'chat_template', field_messages: 'messages', message_property_mappings: { role: 'role', content: 'content' } }],
      output_dir: 'outputs/adapter',
      adapter: 'lora',
      lora_r: 8,
      lora_alpha: 16,
      lora_dropout: 0.1,
      lora_target_modules: ['q_proj', 'v_proj'],
      num_epochs: 2,
      learning_rate: 0.0001,
      micro_batch_size: 4,
      gradient_accumulation_steps: 2,
      sequence_len: 1024,
      val_set_size: 0.1,
      seed: 7,
    });
    expect(axolotl).not.toHaveProperty('lora_target_linear');

    expect(read('bundle', 'Modelfile')).toContain(
      ['FROM qwen2.5:1.5b-instruct', 'ADAPTER ./outputs/adapter.gguf', 'SYSTEM """You are the Vega assistant."""', 'PARAMETER temperature 0.3', 'PARAMETER num_ctx 4096'].join('\n'),
    );

    const readme = read('bundle', 'README.md');
    expect(readme).toContain('**Vega does not train**');
    expect(readme).toContain("uv pip install --no-build-isolation 'axolotl[deepspeed]'");
    expect(readme).toContain('axolotl train axolotl.yaml\n');
    expect(readme).toContain('python llama.cpp/convert_lora_to_gguf.py --base-model-id Qwen/Qwen2.5-1.5B-Instruct --outtype f16 --outfile outputs/adapter.gguf outputs/adapter\n');
    expect(readme).toContain(
      `vega train register --adapter outputs/adapter.gguf --base qwen2.5:1.5b-instruct --name vega-tuned --system-prompt ${join(temp.dir, 'system.txt')} --param temperature=0.3 --param num_ctx=4096\n`,
    );
    expect(readme).toContain('| `dataset.jsonl` | 3 training records in the `chat` format (1 input records were skipped) |');
    expect(readme).toContain('| LoRA r / alpha / dropout | 8 / 16 / 0.1 |');
  });

  it('--json: a directory source in ShareGPT, the bundle (--out) inside it is not read, QLoRA settings', async () => {
    const input = join(temp.dir, 'exports');
    mkdirSync(join(input, 'nested'), { recursive: true });
    writeFileSync(join(input, 'a.jsonl'), '{"prompt":"p1","response":"r1"}\n');
    writeFileSync(join(input, 'nested', 'b.md'), '### Question\nq2\n### Answer\nr2\n');
    writeFileSync(join(input, 'notes.pdf'), '%PDF');
    const out = join(input, 'bundle');
    const config = writeConfig({ base_model: BASE, dataset: { source: 'directory', path: 'exports', format: 'sharegpt' }, output_dir: 'unused', training: { quantization: '4bit' } });

    const result = await vega(['train', '--config', config, '--out', out, '--json']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({
      config,
      bundle_dir: out,
      base_model: BASE,
      format: 'sharegpt',
      files_read: 2,
      records_written: 2,
      records_skipped: 0,
      files_skipped: 1,
      skipped_records: [],
      skipped_files: [{ reason: 'unsupported-type', count: 1, examples: ['notes.pdf'] }],
      files: ['dataset.jsonl', 'axolotl.yaml', 'Modelfile', 'README.md'],
    });
    expect(existsSync(join(temp.dir, 'unused'))).toBe(false);
    expect(jsonLines(readFileSync(join(out, 'dataset.jsonl'), 'utf8'))).toEqual([
      { conversations: [{ from: 'human', value: 'p1' }, { from: 'gpt', value: 'r1' }] },
      { conversations: [{ from: 'human', value: 'q2' }, { from: 'gpt', value: 'r2' }] },
    ]);
    const axolotl = parse(readFileSync(join(out, 'axolotl.yaml'), 'utf8'));
    expect(axolotl.datasets).toEqual([
      {
        path: 'dataset.jsonl',
        ds_type: 'json',
        type: 'chat_template',
        field_messages: 'conversations',
        message_property_mappings: { role: 'from', content: 'value' },
        roles: { system: ['system'], user: ['human'], assistant: ['gpt'] },
      },
    ]);
    expect(axolotl).toMatchObject({ adapter: 'qlora', load_in_4bit: true, lora_target_linear: true, lora_r: 16, lora_alpha: 32, chat_template: 'tokenizer_default' });
    expect(readFileSync(join(out, 'Modelfile'), 'utf8')).not.toContain('SYSTEM');
  });

  it('alpaca: the Alpaca dataset type and no chat template', async () => {
    const config = writeConfig({ base_model: BASE, dataset: { source: 'file', path: 'examples.jsonl', format: 'alpaca' }, output_dir: 'bundle' });
    const result = await vega(['train', '--config', config, '--json']);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ records_written: 3, records_skipped: 1 });
    expect(jsonLines(read('bundle', 'dataset.jsonl'))[0]).toEqual({ instruction: 'q1', input: '', output: 'a1', system: 'Be brief.' });
    const axolotl = parse(read('bundle', 'axolotl.yaml'));
    expect(axolotl.datasets).toEqual([{ path: 'dataset.jsonl', ds_type: 'json', type: 'alpaca' }]);
    expect(axolotl).not.toHaveProperty('chat_template');
  });

  it('never writes into a non-empty directory; a dataset without records leaves nothing behind', async () => {
    mkdirSync(join(temp.dir, 'bundle'));
    writeFileSync(join(temp.dir, 'bundle', 'keep.txt'), 'mine');
    const config = writeConfig({ base_model: BASE, dataset: { source: 'file', path: 'examples.jsonl' }, output_dir: 'bundle' });
    const taken = await vega(['train', '--config', config]);
    expect(taken.code).toBe(2);
    expect(taken.stderr.trim()).toMatch(/^vega: output directory bundle already exists and is not empty; choose another output_dir or --out/);
    expect(readdirSync(join(temp.dir, 'bundle'))).toEqual(['keep.txt']);

    writeFileSync(join(temp.dir, 'empty.jsonl'), '{"text":"no known fields"}\n');
    const emptyConfig = writeConfig({ base_model: BASE, dataset: { source: 'file', path: 'empty.jsonl' }, output_dir: 'fresh' });
    const empty = await vega(['train', '--config', emptyConfig]);
    expect(empty.code).toBe(2);
    expect(empty.stderr.trim()).toBe(`vega: dataset.path ${join(temp.dir, 'empty.jsonl')} gave no training records (skipped: unrecognised-shape ×1); nothing was written`);
    expect(existsSync(join(temp.dir, 'fresh'))).toBe(false);
  });

  it.each([
    [['train'], /^vega: vega train: --config is required/],
    [['train', '--config', 'missing.yaml'], /^vega: training config missing\.yaml not found$/],
    [['train', 'regster'], /unknown command 'regster' \(did you mean 'register'\?\)/],
  ])('%j → exit 2 with one line', async (args, message) => {
    const result = await vega(args);
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toMatch(message);
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
  });

  it('an invalid config → exit 2, one line naming every bad field, nothing written', async () => {
    const config = writeConfig({ base_model: { hf: BASE.hf }, dataset: { source: 'sql', path: 'examples.jsonl' }, output_dir: 'bundle', lora: { r: 0 }, learning_rate: 1 });
    const result = await vega(['train', '--config', config]);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `vega: invalid training config ${config}: base_model.ollama is required; dataset.source must be one of file, directory; lora.r must be an integer between 1 and 1024; unknown key learning_rate\n`,
    );
    expect(existsSync(join(temp.dir, 'bundle'))).toBe(false);
  });

  it('the example training/config.yaml of the repository is valid and its bundle builds', async () => {
    const result = await vega(['train', '--config', join(__dirname, '../../training/config.yaml'), '--out', join(temp.dir, 'example-bundle'), '--json']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ format: 'chat', records_written: 5, records_skipped: 0, base_model: { hf: 'Qwen/Qwen2.5-1.5B-Instruct', ollama: 'qwen2.5:1.5b-instruct' } });
  });
});
