import { CsvLoader } from './csv.loader';
import type { DatasetLoader } from './dataset-loader';
import { JsonLoader } from './json.loader';
import { JsonlLoader } from './jsonl.loader';
import { QaTextLoader } from './qa-text.loader';

/** Every file format `vega dataset build` reads. A new format: one loader file, one entry here. */
export const DATASET_LOADERS: readonly DatasetLoader[] = [new JsonlLoader(), new JsonLoader(), new CsvLoader(), new QaTextLoader()];

/** The loader for a lower-case extension (with the dot), if any. */
export function loaderFor(extension: string, loaders: readonly DatasetLoader[] = DATASET_LOADERS): DatasetLoader | undefined {
  return loaders.find((loader) => loader.extensions.includes(extension));
}
