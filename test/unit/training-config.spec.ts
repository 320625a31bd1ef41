import { stringify } from 'yaml';
import { parseTrainingConfig } from '../../src/modules/training/training-config';

const FILE = '/home/me/project/training/config.yaml';

/** A valid config; each case below breaks one field of it. */
function valid(): Record<string, any> {
  return {
    base_model: { hf: 'Qwen/Qwen2.5-1.5B-Instruct', ollama: 'qwen2.5:1.5b-instruct' },
    dataset: { source: 'file', path: 'data/train.jsonl', format: 'chat' },
    output_dir: 'bundle',
    lora: { r: 16, alpha: 32, dropout: 0.05, target_modules: ['q_proj', 'v_proj'] },
    training: { epochs: 3, learning_rate: 0.0002, batch_size: 2, max_seq_length: 2048 },
    register: { name: 'vega-tuned', parameters: { temperature: 0.7 } },
  };
}

const problemOf = (config: unknown): string => {
  try {
    parseTrainingConfig(typeof config === 'string' ? config : stringify(config), FILE);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('the config was accepted');
};

describe(parseTrainingConfig.name, () => {
  it('fills the defaults and makes the paths absolute, relative to the config file', () => {
    const config = parseTrainingConfig(stringify({ base_model: valid().base_model, dataset: { source: 'directory', path: '../exports' }, output_dir: 'out/bundle' }), FILE);
    expect(config).toEqual({
      file: FILE,
      base_model: { hf: 'Qwen/Qwen2.5-1.5B-Instruct', ollama: 'qwen2.5:1.5b-instruct' },
      dataset: { source: 'directory', path: '/home/me/project/exports', format: 'chat' },
      output_dir: '/home/me/project/training/out/bundle',
      chat_template: 'tokenizer_default',
      lora: { r: 16, alpha: 32, dropout: 0.05, target_modules: 'all-linear' },
      training: { epochs: 3, learning_rate: 0.0002, batch_size: 2, gradient_accumulation_steps: 4, max_seq_length: 2048, quantization: 'none', val_set_size: 0, seed: 42 },
      register: { name: 'vega-tuned', parameters: {} },
    });
  });

  it('keeps what the file sets, and resolves register.system_prompt_file', () => {
    const config = parseTrainingConfig(stringify({ ...valid(), register: { name: 'bot', system_prompt_file: 'system.txt', parameters: { temperature: 0.2, stop: '<|im_end|>' } } }), FILE);
    expect(config.lora.target_modules).toEqual(['q_proj', 'v_proj']);
    expect(config.dataset.path).toBe('/home/me/project/training/data/train.jsonl');
    expect(config.register).toEqual({ name: 'bot', system_prompt_file: '/home/me/project/training/system.txt', parameters: { temperature: 0.2, stop: '<|im_end|>' } });
  });

  type Case = [what: string, change: (config: Record<string, any>) => void, expected: string];
  const cases: Case[] = [
    ['base_model missing', (c) => delete c.base_model, 'base_model is required'],
    ['base_model not a mapping', (c) => (c.base_model = 'qwen'), 'base_model must be a mapping of keys to values'],
    ['base_model.hf missing', (c) => delete c.base_model.hf, 'base_model.hf is required'],
    ['base_model.hf with spaces', (c) => (c.base_model.hf = 'Qwen 2.5'), 'base_model.hf must be a Hugging Face model id without spaces'],
    ['base_model.ollama missing', (c) => delete c.base_model.ollama, 'base_model.ollama is required'],
    ['base_model.ollama invalid', (c) => (c.base_model.ollama = 'qwen 2.5'), 'base_model.ollama must be an Ollama model name'],
    ['dataset missing', (c) => delete c.dataset, 'dataset is required'],
    ['dataset.source unknown', (c) => (c.dataset.source = 'database'), 'dataset.source must be one of file, directory'],
    ['dataset.path missing', (c) => delete c.dataset.path, 'dataset.path is required'],
    ['dataset.path empty', (c) => (c.dataset.path = ' '), 'dataset.path must be a path (relative to the config file)'],
    ['dataset.format unknown', (c) => (c.dataset.format = 'prompt-response'), 'dataset.format must be one of chat, sharegpt, alpaca'],
    ['output_dir missing', (c) => delete c.output_dir, 'output_dir is required'],
    ['output_dir not text', (c) => (c.output_dir = 12), 'output_dir must be a directory path'],
    ['chat_template odd', (c) => (c.chat_template = 'Chat ML'), 'chat_template must be an Axolotl chat template name'],
    ['lora.r zero', (c) => (c.lora.r = 0), 'lora.r must be an integer between 1 and 1024'],
    ['lora.r fractional', (c) => (c.lora.r = 8.5), 'lora.r must be an integer between 1 and 1024'],
    ['lora.alpha text', (c) => (c.lora.alpha = 'high'), 'lora.alpha must be an integer between 1 and 4096'],
    ['lora.dropout 1', (c) => (c.lora.dropout = 1), 'lora.dropout must be a number from 0 to 0.99'],
    ['lora.target_modules empty', (c) => (c.lora.target_modules = []), 'lora.target_modules must list at least one module'],
    ['lora.target_modules word', (c) => (c.lora.target_modules = 'attention'), 'lora.target_modules must be "all-linear" or a list of module names'],
    ['training.epochs 0', (c) => (c.training.epochs = 0), 'training.epochs must be an integer between 1 and 100'],
    ['training.learning_rate 0', (c) => (c.training.learning_rate = 0), 'training.learning_rate must be a number greater than 0 and at most 1'],
    ['training.learning_rate text', (c) => (c.training.learning_rate = '2e-4x'), 'training.learning_rate must be a number greater than 0 and at most 1'],
    ['training.batch_size negative', (c) => (c.training.batch_size = -1), 'training.batch_size must be an integer between 1 and 1024'],
    ['training.max_seq_length small', (c) => (c.training.max_seq_length = 64), 'training.max_seq_length must be an integer between 128 and 131072'],
    ['training.quantization', (c) => (c.training.quantization = '2bit'), 'training.quantization must be one of none, 4bit, 8bit'],
    ['training.val_set_size', (c) => (c.training.val_set_size = 0.9), 'training.val_set_size must be a number between 0 and 0.5'],
    ['register.name invalid', (c) => (c.register.name = 'my model'), 'register.name must be an Ollama model name'],
    ['register.parameters value', (c) => (c.register.parameters = { top_k: [1] }), 'register.parameters.top_k must be a number, text or true/false'],
    ['register.parameters name', (c) => (c.register.parameters = { Temperature: 1 }), 'register.parameters.Temperature: parameter names are lower-case words'],
    ['unknown top-level key', (c) => (c.epochs = 3), 'unknown key epochs'],
    ['unknown nested key (a typo)', (c) => (c.training.learning_rat = 0.1), 'unknown key training.learning_rat'],
    ['unknown LoRA key', (c) => (c.lora.rank = 8), 'unknown key lora.rank'],
  ];

  it.each(cases)('%s → one message naming the field', (_what, change, expected) => {
    const config = valid();
    change(config);
    const message = problemOf(config);
    expect(message).toMatch(new RegExp(`^invalid training config ${FILE}: `));
    expect(message).toContain(expected);
    expect(message.split('; ')).toHaveLength(1);
  });

  it('reports every problem at once', () => {
    const config = valid();
    config.lora.r = 0;
    config.training.epochs = 'many';
    config.extra = true;
    expect(problemOf(config).split(': ').slice(1).join(': ').split('; ')).toEqual([
      'lora.r must be an integer between 1 and 1024',
      'training.epochs must be an integer between 1 and 100',
      'unknown key extra',
    ]);
  });

  it.each([
    ['an empty file', '', 'the file must be a YAML mapping'],
    ['a list', '- a\n- b\n', 'the file must be a YAML mapping'],
    ['broken YAML', 'base_model: [a\n', 'is not valid YAML: '],
    ['a duplicated key', 'output_dir: a\noutput_dir: b\n', 'is not valid YAML: Map keys must be unique at line 2, column 1'],
  ])('%s is refused', (_what, text, expected) => {
    expect(problemOf(text)).toContain(expected);
  });
});
