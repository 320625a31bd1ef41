import { Injectable } from '@nestjs/common';
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { basename, extname, join, relative, resolve } from 'node:path';
import { InvalidInputError } from '../../common/errors/app-errors';
import { BuildProgress, BuildSummary, buildDataset, writeExamples } from '../datasets/dataset-builder';
import { LineSink } from '../datasets/line-sink';
import { loaderFor } from '../datasets/loaders/index';
import { BUNDLE_FILES, renderAxolotlYaml } from './axolotl-config';
import { renderBundleReadme, renderModelfile } from './bundle-readme';
import type { TrainingConfig } from './training-config';

/** What `vega train` reports (`--json` prints it as is). */
export interface BundleSummary extends BuildSummary {
  config: string;
  bundle_dir: string;
  base_model: { hf: string; ollama: string };
  /** The files written, relative to the bundle directory. */
  files: string[];
}

/**
 * `vega train --config`: builds the dataset in the trainer's format and writes a bundle a GPU
 * machine runs as is (dataset, Axolotl config, README of commands, Modelfile). Nothing here
 * trains: the bundle is the hand-off. An existing non-empty directory is never written into.
 */
@Injectable()
export class TrainingBundleService {
  async prepare(config: TrainingConfig, options: { outDir?: string; onProgress?: (progress: BuildProgress) => void } = {}): Promise<BundleSummary> {
    const dir = options.outDir ? resolve(options.outDir) : config.output_dir;
    await checkDatasetSource(config);
    const system = await readSystemPrompt(config);
    const created = await openBundleDir(dir);

    let summary: BuildSummary;
    const output = await LineSink.createFile(join(dir, BUNDLE_FILES.dataset));
    try {
      summary = await this.writeDataset(config, dir, output.sink, options.onProgress);
    } finally {
      await output.close();
    }
    if (summary.records_written === 0) {
      // A bundle without examples would only fail later on the GPU machine.
      await (created ? rm(dir, { recursive: true, force: true }) : rm(join(dir, BUNDLE_FILES.dataset), { force: true }));
      const reasons = [...summary.skipped_records, ...summary.skipped_files].map((group) => `${group.reason} ×${group.count}`);
      throw new InvalidInputError(`dataset.path ${config.dataset.path} gave no training records${reasons.length > 0 ? ` (skipped: ${reasons.join(', ')})` : ''}; nothing was written`);
    }

    const texts: [string, string][] = [
      [BUNDLE_FILES.axolotl, renderAxolotlYaml(config)],
      [BUNDLE_FILES.modelfile, renderModelfile(config, system)],
      [BUNDLE_FILES.readme, renderBundleReadme(config, { records: summary.records_written, skipped: summary.records_skipped })],
    ];
    for (const [name, text] of texts) await writeFile(join(dir, name), text, { flag: 'wx', mode: 0o644 });
    return {
      config: config.file,
      bundle_dir: dir,
      base_model: { ...config.base_model },
      ...summary,
      files: [BUNDLE_FILES.dataset, ...texts.map(([name]) => name)],
    };
  }

  private async writeDataset(config: TrainingConfig, dir: string, sink: LineSink, onProgress?: (progress: BuildProgress) => void): Promise<BuildSummary> {
    const { source, path, format } = config.dataset;
    if (source === 'directory') return buildDataset({ dir: path, format, sink, exclude: new Set([dir]), onProgress });
    const loader = loaderFor(extname(path).toLowerCase());
    if (!loader) throw new InvalidInputError(`dataset.path ${path}: unsupported file type (use .jsonl, .json, .csv, .txt or .md)`);
    return writeExamples({ files: [{ path, name: basename(path), loader }], skipped: [] }, { format, sink, onProgress });
  }
}

async function checkDatasetSource(config: TrainingConfig): Promise<void> {
  const { source, path } = config.dataset;
  const info = await stat(path).catch(() => undefined);
  if (!info) throw new InvalidInputError(`dataset.path ${path} does not exist`);
  if (source === 'directory' && !info.isDirectory()) throw new InvalidInputError(`dataset.path ${path} is not a directory (dataset.source is directory)`);
  if (source === 'file') {
    if (!info.isFile()) throw new InvalidInputError(`dataset.path ${path} is not a file (dataset.source is file)`);
    if (!loaderFor(extname(path).toLowerCase())) throw new InvalidInputError(`dataset.path ${path}: unsupported file type (use .jsonl, .json, .csv, .txt or .md)`);
  }
}

async function readSystemPrompt(config: TrainingConfig): Promise<string | undefined> {
  const file = config.register.system_prompt_file;
  if (!file) return undefined;
  try {
    const text = (await readFile(file, 'utf8')).trim();
    return text === '' ? undefined : text;
  } catch (error) {
    throw new InvalidInputError(`register.system_prompt_file ${file} cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
}

/** Creates the bundle directory (or accepts an empty one); true when this call created it. */
async function openBundleDir(dir: string): Promise<boolean> {
  const entries = await readdir(dir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw new InvalidInputError(`output directory ${dir} cannot be used: ${error.code === 'ENOTDIR' ? 'it is a file' : error.message}`);
  });
  if (entries && entries.length > 0) {
    throw new InvalidInputError(`output directory ${relative(process.cwd(), dir) || dir} already exists and is not empty; choose another output_dir or --out (a bundle is never written over)`);
  }
  if (entries) return false;
  await mkdir(dir, { recursive: true, mode: 0o755 });
  return true;
}
