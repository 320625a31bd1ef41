import { Injectable } from '@nestjs/common';
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { InvalidInputError } from '../../common/errors/app-errors';
import { BuildProgress, BuildSummary, buildDataset } from './dataset-builder';
import type { DatasetFormat } from './dataset-example';
import type { LineSink } from './line-sink';

/** `vega dataset build`: checks the directory, then streams its files into the sink. */
@Injectable()
export class DatasetBuildService {
  async build(dir: string, format: DatasetFormat, sink: LineSink, options: { outPath?: string; onProgress?: (progress: BuildProgress) => void } = {}): Promise<BuildSummary> {
    const root = resolve(dir);
    const info = await stat(root).catch(() => undefined);
    if (!info?.isDirectory()) throw new InvalidInputError(`${dir} is not a directory`);
    const exclude = new Set(options.outPath ? [resolve(options.outPath)] : []);
    return buildDataset({ dir: root, format, sink, exclude, onProgress: options.onProgress });
  }
}
