import { ADAPTER_DIR, ADAPTER_GGUF, BUNDLE_FILES } from './axolotl-config';
import type { TrainingConfig } from './training-config';

/** What the README says about the dataset that was written. */
export interface BundleDatasetFacts {
  records: number;
  skipped: number;
}

/** A word for a POSIX shell: left bare when it is safe, else single-quoted. */
export function shellWord(value: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

/** The `vega train register` command line for the bundle's GGUF adapter. */
export function registerCommand(config: TrainingConfig, adapter: string = ADAPTER_GGUF): string {
  const words = ['vega', 'train', 'register', '--adapter', adapter, '--base', config.base_model.ollama, '--name', config.register.name];
  if (config.register.system_prompt_file) words.push('--system-prompt', config.register.system_prompt_file);
  for (const [key, value] of Object.entries(config.register.parameters)) words.push('--param', `${key}=${String(value)}`);
  return words.map(shellWord).join(' ');
}

/**
 * A Modelfile for reference: `vega train register` creates the same model through the API,
 * and `ollama create NAME -f Modelfile` does it by hand.
 */
export function renderModelfile(config: TrainingConfig, system: string | undefined): string {
  const lines = [
    '# Written by `vega train` for reference. `vega train register` creates the same model through',
    `# Ollama's API; by hand, from this directory: ollama create ${config.register.name} -f Modelfile`,
    `FROM ${config.base_model.ollama}`,
    `ADAPTER ./${ADAPTER_GGUF}`,
  ];
  if (system) lines.push(`SYSTEM """${system}"""`);
  for (const [key, value] of Object.entries(config.register.parameters)) lines.push(`PARAMETER ${key} ${String(value)}`);
  return `${lines.join('\n')}\n`;
}

/** The bundle's README: what Vega did, and the exact commands to run on the GPU machine and back home. */
export function renderBundleReadme(config: TrainingConfig, dataset: BundleDatasetFacts): string {
  const { lora, training } = config;
  const hf = config.base_model.hf;
  const modules = lora.target_modules === 'all-linear' ? 'all linear layers' : lora.target_modules.join(', ');
  return `# Fine-tuning bundle for ${hf}

Written by \`vega train\` from \`${config.file}\`. **Vega does not train**: it prepared this
directory, and it registers the adapter you bring back. Training runs on a machine with an
NVIDIA (or AMD) GPU, with [Axolotl](https://github.com/axolotl-ai-cloud/axolotl).

| file | what |
|---|---|
| \`${BUNDLE_FILES.dataset}\` | ${dataset.records} training records in the \`${config.dataset.format}\` format (${dataset.skipped} input records were skipped) |
| \`${BUNDLE_FILES.axolotl}\` | the Axolotl LoRA configuration (below) |
| \`${BUNDLE_FILES.modelfile}\` | the Ollama Modelfile of the tuned model, for reference |

| setting | value |
|---|---|
| base model (training) | \`${hf}\` |
| base model (Ollama) | \`${config.base_model.ollama}\` |
| adapter | ${training.quantization === '4bit' ? 'QLoRA (base loaded in 4 bit)' : training.quantization === '8bit' ? 'LoRA (base loaded in 8 bit)' : 'LoRA'} |
| LoRA r / alpha / dropout | ${lora.r} / ${lora.alpha} / ${lora.dropout} |
| target modules | ${modules} |
| epochs | ${training.epochs} |
| learning rate | ${training.learning_rate} |
| batch size × gradient accumulation | ${training.batch_size} × ${training.gradient_accumulation_steps} |
| max sequence length | ${training.max_seq_length} |
| chat template | ${config.dataset.format === 'alpaca' ? 'none (Alpaca prompt format)' : config.chat_template} |

## 1. On the GPU machine: install Axolotl

Copy this directory to the GPU machine, then (Python 3.11+, CUDA 12.8 or 13.0):

\`\`\`sh
curl -LsSf https://astral.sh/uv/install.sh | sh
source $HOME/.local/bin/env
export UV_TORCH_BACKEND=cu128   # or cu130
uv venv
source .venv/bin/activate
uv pip install --no-build-isolation 'axolotl[deepspeed]'
\`\`\`

Gated models (Llama, Gemma) need \`huggingface-cli login\` with a token that was granted access.

## 2. Check the data, then train

\`\`\`sh
axolotl preprocess ${BUNDLE_FILES.axolotl} --debug --debug-num-examples 3
axolotl train ${BUNDLE_FILES.axolotl}
\`\`\`

The adapter is written to \`${ADAPTER_DIR}/\` (\`adapter_model.safetensors\` and \`adapter_config.json\`).

## 3. Export the adapter to GGUF for Ollama

\`\`\`sh
git clone --depth 1 https://github.com/ggml-org/llama.cpp
uv pip install -r llama.cpp/requirements/requirements-convert_hf_to_gguf.txt
python llama.cpp/convert_lora_to_gguf.py --base-model-id ${shellWord(hf)} --outtype f16 --outfile ${ADAPTER_GGUF} ${ADAPTER_DIR}
\`\`\`

Ollama can also read the safetensors adapter directory itself for Llama, Mistral and Gemma
models (\`--adapter ${ADAPTER_DIR}\` below). Either way, Ollama applies the adapter to
\`${config.base_model.ollama}\`: it must be the same model as \`${hf}\`, or the answers will be
erratic. A LoRA trained on full weights transfers better than a QLoRA one.

## 4. Back on the Vega machine: register the tuned model

Copy \`outputs/\` back next to this README, then:

\`\`\`sh
${registerCommand(config)}
vega chat --model ${shellWord(config.register.name)} "Hello"
\`\`\`

\`vega train register\` uploads the adapter to Ollama, creates \`${config.register.name}\` from
\`${config.base_model.ollama}\` with the adapter${config.register.system_prompt_file ? ', the system prompt' : ''}${Object.keys(config.register.parameters).length > 0 ? ' and the parameters' : ''}, and checks that Ollama lists it.
`;
}
