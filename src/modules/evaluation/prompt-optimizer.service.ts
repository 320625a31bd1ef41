import { Injectable } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { copyFile, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { InvalidInputError } from '../../common/errors/app-errors';
import { AppConfig } from '../../config/app-config';
import type { PromptCandidate } from './candidates';
import { EvalReport, writeReport } from './eval-report';
import type { EvalSet } from './eval-set';
import { sha256 } from './eval-set';
import { EvaluateOptions, EvaluationService } from './evaluation.service';

export interface RankedCandidate {
  rank: number;
  name: string;
  source: string;
  mean: number;
  failed: number;
  report: EvalReport;
  /** Where its run report was written. */
  report_path: string;
}

export interface AppliedPrompt {
  file: string;
  /** The previous file's copy, or null when there was none (or nothing changed). */
  backup: string | null;
  sha256: string;
  length: number;
  /** The file already held exactly this prompt: nothing was written. */
  unchanged: boolean;
}

export type OptimizeOptions = Omit<EvaluateOptions, 'systemPrompt' | 'onProgress' | 'judgeModel'> & {
  runsDir: string;
  onProgress?: (candidate: number, candidates: number, done: number, total: number) => void;
};

/**
 * `optimize-prompt`: every candidate system prompt through the same eval set, ranked by mean
 * score; ties go to fewer failed items, then to the earlier candidate (file-name order for a
 * directory, line order for JSONL), so the ranking is the same on every run.
 */
@Injectable()
export class PromptOptimizerService {
  constructor(
    private readonly config: AppConfig,
    private readonly evaluation: EvaluationService,
  ) {}

  /** The file `--apply` writes to; an `InvalidInputError` when `SYSTEM_PROMPT_FILE` is unset. */
  targetFile(): string {
    const file = this.config.llm.systemPromptFile;
    if (!file) {
      throw new InvalidInputError('--apply needs SYSTEM_PROMPT_FILE: set it to the file the server reads its system prompt from');
    }
    return file;
  }

  async rank(candidates: readonly PromptCandidate[], set: EvalSet, options: OptimizeOptions): Promise<RankedCandidate[]> {
    const results: Omit<RankedCandidate, 'rank'>[] = [];
    for (const [index, candidate] of candidates.entries()) {
      const report = await this.evaluation.evaluate(set, {
        ...options,
        systemPrompt: { text: candidate.prompt, source: `candidate ${candidate.name} (${candidate.source})` },
        onProgress: (done, total) => options.onProgress?.(index + 1, candidates.length, done, total),
      });
      const path = await writeReport(report, options.runsDir, candidate.name);
      results.push({ name: candidate.name, source: candidate.source, mean: report.summary.mean, failed: report.summary.failed, report, report_path: path });
    }
    const order = results.map((result, index) => ({ result, index }));
    order.sort((x, y) => y.result.mean - x.result.mean || x.result.failed - y.result.failed || x.index - y.index);
    return order.map(({ result }, i) => ({ rank: i + 1, ...result }));
  }

  /**
   * Writes `prompt` to `SYSTEM_PROMPT_FILE`: the previous file is copied to
   * `<file>.bak-<time>` first, then the new text is written to a temporary file in the same
   * directory, flushed, and renamed over the old one (a reader, or the server's watch, never
   * sees half a file).
   */
  async apply(prompt: string, now = new Date()): Promise<AppliedPrompt> {
    const file = this.targetFile();
    const text = `${prompt.trim()}\n`;
    const digest = sha256(prompt.trim());
    const previous = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined;
      throw error;
    });
    if (previous?.trim() === prompt.trim()) return { file, backup: null, sha256: digest, length: prompt.trim().length, unchanged: true };
    const backup = previous === undefined ? null : await backupOf(file, now);
    const mode = previous === undefined ? 0o644 : (await stat(file)).mode & 0o777;
    const temp = join(dirname(file), `.${basename(file)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
    try {
      const handle = await open(temp, 'wx', mode);
      try {
        await handle.writeFile(text, 'utf8');
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temp, file);
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
    return { file, backup, sha256: digest, length: prompt.trim().length, unchanged: false };
  }
}

/** Copies `file` to `<file>.bak-<time>` (`-2`, `-3`… on a clash), never overwriting. */
async function backupOf(file: string, now: Date): Promise<string> {
  const base = `${file}.bak-${now.toISOString().replace(/:/g, '-')}`;
  for (let attempt = 1; ; attempt += 1) {
    const backup = attempt === 1 ? base : `${base}-${attempt}`;
    try {
      await copyFile(file, backup, constants.COPYFILE_EXCL);
      return backup;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 100) throw error;
    }
  }
}
