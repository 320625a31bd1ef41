import { Injectable } from '@nestjs/common';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { Transform } from 'node:stream';
import { InvalidInputError, ModelNotFoundError } from '../../common/errors/app-errors';
import { SystemPromptService } from '../../core/llm/system-prompt.service';
import { AdapterFile, resolveAdapterFiles } from './adapter-files';
import { OllamaModelsClient } from './ollama-models.client';
import { OLLAMA_MODEL } from './training-config';

export interface RegisterRequest {
  adapter: string;
  base: string;
  name: string;
  /** A file whose text becomes the model's SYSTEM; without it, SYSTEM_PROMPT_FILE's text (if set). */
  systemPromptFile?: string;
  parameters: Record<string, unknown>;
}

export interface RegisterEvents {
  /** Bytes of `file` sent so far (called as the upload goes). */
  onUpload?: (file: AdapterFile, sent: number) => void;
  onStatus?: (status: string) => void;
}

/** What `vega train register` reports (`--json` prints it as is). */
export interface RegisterSummary {
  name: string;
  /** The name as Ollama lists it (`name:latest`). */
  model: string;
  base: string;
  ollama_url: string;
  adapter: { path: string; files: (Omit<AdapterFile, 'path'> & { uploaded: boolean })[] };
  system_prompt: { source: 'file' | 'SYSTEM_PROMPT_FILE' | 'none'; file?: string; chars: number };
  parameters: Record<string, unknown>;
  statuses: string[];
}

/** "mistral" and "mistral:latest" are one model; a registry host's port is not a tag. */
export function fullModelName(name: string): string {
  return name.indexOf(':', name.lastIndexOf('/') + 1) === -1 ? `${name}:latest` : name;
}

/**
 * `vega train register`: turns a trained LoRA adapter into an Ollama model. It checks the
 * adapter and the base model first (nothing is uploaded for a base Ollama does not have),
 * uploads the adapter blobs Ollama does not hold yet, creates the model from the base with
 * the adapter, system prompt and parameters, and checks that `/api/tags` lists it.
 */
@Injectable()
export class ModelRegistrationService {
  constructor(
    private readonly ollama: OllamaModelsClient,
    private readonly systemPrompt: SystemPromptService,
  ) {}

  async register(request: RegisterRequest, events: RegisterEvents = {}): Promise<RegisterSummary> {
    for (const [what, value] of [['--name', request.name], ['--base', request.base]] as const) {
      if (!OLLAMA_MODEL.test(value)) throw new InvalidInputError(`${what} "${value}" is not an Ollama model name (letters, digits, ".", "_", "-", ":" and "/")`);
    }
    const files = await resolveAdapterFiles(request.adapter);
    const system = await this.systemPromptFor(request.systemPromptFile);

    try {
      await this.ollama.showModel(request.base);
    } catch (error) {
      if (!(error instanceof ModelNotFoundError)) throw error;
      throw new ModelNotFoundError(`base model ${request.base} is not in Ollama at ${this.ollama.host} (${error.message}); pull it first: ollama pull ${request.base}`);
    }

    const uploaded: boolean[] = [];
    for (const file of files) uploaded.push(await this.upload(file, events));

    const statuses: string[] = [];
    const create = {
      model: request.name,
      from: request.base,
      adapters: Object.fromEntries(files.map((file) => [file.name, file.digest])),
      ...(system.text ? { system: system.text } : {}),
      ...(Object.keys(request.parameters).length > 0 ? { parameters: request.parameters } : {}),
    };
    for await (const status of this.ollama.createModel(create)) {
      statuses.push(status);
      events.onStatus?.(status);
    }

    const model = fullModelName(request.name);
    const listed = (await this.ollama.listModelNames()).map(fullModelName);
    if (!listed.includes(model)) throw new ModelNotFoundError(`Ollama reported success but does not list ${model} in /api/tags`);

    return {
      name: request.name,
      model,
      base: request.base,
      ollama_url: this.ollama.host,
      adapter: { path: request.adapter, files: files.map(({ path: _path, ...file }, i) => ({ ...file, uploaded: uploaded[i] })) },
      system_prompt: { source: system.source, ...(system.file ? { file: system.file } : {}), chars: system.text?.length ?? 0 },
      parameters: request.parameters,
      statuses,
    };
  }

  /** Uploads a blob unless Ollama has it already (HEAD first); true when the bytes were sent. */
  private async upload(file: AdapterFile, events: RegisterEvents): Promise<boolean> {
    if (await this.ollama.hasBlob(file.digest)) return false;
    let sent = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        sent += chunk.length;
        events.onUpload?.(file, sent);
        done(null, chunk);
      },
    });
    const source = createReadStream(file.path).on('error', (error) => counter.destroy(error));
    await this.ollama.pushBlob(file.digest, source.pipe(counter), file.bytes);
    return true;
  }

  private async systemPromptFor(file: string | undefined): Promise<{ source: RegisterSummary['system_prompt']['source']; file?: string; text?: string }> {
    if (file) {
      const text = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
        throw new InvalidInputError(`--system-prompt ${file} cannot be read (${error.code ?? error.message})`);
      });
      if (text.trim() === '') throw new InvalidInputError(`--system-prompt ${file} is empty`);
      return { source: 'file', file, text: text.trim() };
    }
    const configured = this.systemPrompt.get();
    return configured ? { source: 'SYSTEM_PROMPT_FILE', file: this.systemPrompt.file, text: configured } : { source: 'none' };
  }
}
