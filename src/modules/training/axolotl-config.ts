import { stringify } from 'yaml';
import type { TrainingConfig, TrainingFormat } from './training-config';

/** Paths inside the bundle, relative to it (the trainer runs from the bundle directory). */
export const BUNDLE_FILES = {
  dataset: 'dataset.jsonl',
  axolotl: 'axolotl.yaml',
  readme: 'README.md',
  modelfile: 'Modelfile',
} as const;
export const ADAPTER_DIR = 'outputs/adapter';
export const ADAPTER_GGUF = 'outputs/adapter.gguf';
const PREPARED_DIR = 'outputs/prepared';

/**
 * The Axolotl dataset entry for each format Vega writes. Chat and ShareGPT go through
 * Axolotl's `chat_template` strategy (its `sharegpt` type is deprecated), told where the
 * messages and their role/content fields are; Alpaca uses the `alpaca` type.
 */
function datasetEntry(format: TrainingFormat): Record<string, unknown> {
  const local = { path: BUNDLE_FILES.dataset, ds_type: 'json' };
  switch (format) {
    case 'chat':
      return { ...local, type: 'chat_template', field_messages: 'messages', message_property_mappings: { role: 'role', content: 'content' } };
    case 'sharegpt':
      return {
        ...local,
        type: 'chat_template',
        field_messages: 'conversations',
        message_property_mappings: { role: 'from', content: 'value' },
        roles: { system: ['system'], user: ['human'], assistant: ['gpt'] },
      };
    case 'alpaca':
      return { ...local, type: 'alpaca' };
  }
}

/** The Axolotl configuration (as an object) for a LoRA run with these settings. */
export function axolotlConfig(config: TrainingConfig): Record<string, unknown> {
  const { lora, training } = config;
  return {
    base_model: config.base_model.hf,
    load_in_8bit: training.quantization === '8bit',
    load_in_4bit: training.quantization === '4bit',
    ...(config.dataset.format === 'alpaca' ? {} : { chat_template: config.chat_template }),
    datasets: [datasetEntry(config.dataset.format)],
    dataset_prepared_path: PREPARED_DIR,
    val_set_size: training.val_set_size,
    output_dir: ADAPTER_DIR,
    sequence_len: training.max_seq_length,
    sample_packing: false,
    // 4-bit loading is QLoRA; 8-bit and full precision train a plain LoRA adapter.
    adapter: training.quantization === '4bit' ? 'qlora' : 'lora',
    lora_r: lora.r,
    lora_alpha: lora.alpha,
    lora_dropout: lora.dropout,
    ...(lora.target_modules === 'all-linear' ? { lora_target_linear: true } : { lora_target_modules: [...lora.target_modules] }),
    num_epochs: training.epochs,
    micro_batch_size: training.batch_size,
    gradient_accumulation_steps: training.gradient_accumulation_steps,
    learning_rate: training.learning_rate,
    optimizer: 'adamw_torch',
    lr_scheduler: 'cosine',
    warmup_ratio: 0.1,
    train_on_inputs: false,
    bf16: 'auto',
    tf32: false,
    gradient_checkpointing: true,
    logging_steps: 1,
    saves_per_epoch: 1,
    save_safetensors: true,
    seed: training.seed,
  };
}

/** `axolotl.yaml`'s text: a header saying where it came from, then the configuration. */
export function renderAxolotlYaml(config: TrainingConfig): string {
  const header = [
    `# Axolotl LoRA configuration written by \`vega train\` from ${config.file}.`,
    '# Run it from this directory on a GPU machine: axolotl train axolotl.yaml (see README.md).',
    `# The adapter is written to ${ADAPTER_DIR}/ (adapter_model.safetensors + adapter_config.json).`,
  ];
  return `${header.join('\n')}\n${stringify(axolotlConfig(config), { lineWidth: 0 })}`;
}
