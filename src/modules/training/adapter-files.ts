import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, readdir, stat } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { InvalidInputError } from '../../common/errors/app-errors';

/** One file of an adapter, as Ollama's `adapters` map names it. */
export interface AdapterFile {
  /** The name in the `adapters` map (relative to the adapter directory). */
  name: string;
  path: string;
  bytes: number;
  /** `sha256:<hex>`, the blob's name in Ollama. */
  digest: string;
}

const GGUF_MAGIC = 'GGUF';
const PEFT_CONFIG = 'adapter_config.json';
const HINT = 'give a GGUF adapter file, or the directory a LoRA trainer wrote (adapter_model.safetensors and adapter_config.json)';

/**
 * The files to upload for `--adapter PATH`, as `ollama create` picks them: one GGUF file
 * (Ollama takes a single GGUF adapter), or a PEFT directory's `*.safetensors` weights with
 * its `adapter_config.json` (Ollama converts those itself). Checkpoint sub-directories and
 * tokenizer files are left out: the conversion does not read them.
 */
export async function resolveAdapterFiles(path: string): Promise<AdapterFile[]> {
  const info = await stat(path).catch(() => undefined);
  if (!info) throw new InvalidInputError(`adapter ${path} not found; ${HINT}`);
  if (info.isFile()) {
    if (!(await isGguf(path))) throw new InvalidInputError(`adapter ${path} is not a GGUF file; ${HINT}`);
    return [await describeFile(basename(path), path)];
  }
  if (!info.isDirectory()) throw new InvalidInputError(`adapter ${path} is neither a file nor a directory; ${HINT}`);

  const names = (await readdir(path, { withFileTypes: true })).filter((entry) => entry.isFile()).map((entry) => entry.name).sort();
  const weights = names.filter((name) => extname(name) === '.safetensors');
  if (weights.length > 0) {
    if (!names.includes(PEFT_CONFIG)) throw new InvalidInputError(`adapter directory ${path} has ${weights.join(', ')} but no ${PEFT_CONFIG}; ${HINT}`);
    return Promise.all([...weights, PEFT_CONFIG].map((name) => describeFile(name, join(path, name))));
  }
  const ggufs = names.filter((name) => extname(name) === '.gguf');
  if (ggufs.length === 1) return [await describeFile(ggufs[0], join(path, ggufs[0]))];
  if (ggufs.length > 1) throw new InvalidInputError(`adapter directory ${path} holds ${ggufs.length} GGUF files (${ggufs.join(', ')}); Ollama takes one adapter: pass the file`);
  throw new InvalidInputError(`adapter directory ${path} has no adapter weights; ${HINT}`);
}

async function isGguf(path: string): Promise<boolean> {
  const handle = await open(path, 'r');
  try {
    const head = Buffer.alloc(4);
    const { bytesRead } = await handle.read(head, 0, 4, 0);
    return bytesRead === 4 && head.toString('latin1') === GGUF_MAGIC;
  } finally {
    await handle.close();
  }
}

/** Size and SHA-256 of a file, hashed as a stream (adapters can be hundreds of MB). */
async function describeFile(name: string, path: string): Promise<AdapterFile> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  const { size } = await stat(path);
  return { name, path, bytes: size, digest: `sha256:${hash.digest('hex')}` };
}
