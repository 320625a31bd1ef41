import { mkdir, open, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { InvalidInputError } from '../../common/errors/app-errors';
import type { Metric } from './scoring';
import type { SkippedLine } from './eval-set';

export const REPORT_KIND = 'vega-eval-report';
export const REPORT_VERSION = 1;

export interface JudgeResult {
  /** The judge's grade in [0, 1]; null when the judge failed (then `error` says why). */
  score: number | null;
  error?: string;
  /** The judge's reply, kept when it could not be parsed. */
  reply?: string;
}

export interface ItemResult {
  line: number;
  prompt: string;
  expected: string;
  /** The model's answer; null when the call failed. */
  answer: string | null;
  /** The automatic score (0 when the call failed). */
  score: number;
  /** The metric that gave `score` (`none`: all scored 0); null when the call failed. */
  metric: Metric | 'none' | null;
  scores: Record<Metric, number> | null;
  judge?: JudgeResult;
  /** The backend failure (error class name and message); null when answered. */
  error: { type: string; message: string } | null;
  cached: boolean;
  duration_ms: number;
}

export interface ReportSummary {
  items: number;
  answered: number;
  failed: number;
  /** Mean automatic score over ALL items; a failed item counts as 0. */
  mean: number;
  /** With a judge: the mean grade over the items it graded (judge failures left out), else null. */
  judge_mean: number | null;
  judged: number;
  judge_failed: number;
}

export interface SystemPromptInfo {
  /** Where it came from: a file path, or "SYSTEM_PROMPT_FILE (<path>)", or an optimize candidate. */
  source: string;
  sha256: string;
  length: number;
  text: string;
}

/** The JSON written to `runs/eval-<time>.json` and printed by `--json`. */
export interface EvalReport {
  kind: typeof REPORT_KIND;
  version: typeof REPORT_VERSION;
  started_at: string;
  finished_at: string;
  duration_ms: number;
  model: string;
  judge: { model: string; rubric_version: number } | null;
  system_prompt: SystemPromptInfo | null;
  eval_file: { path: string; sha256: string; items: number; skipped_lines: SkippedLine[] };
  concurrency: number;
  summary: ReportSummary;
  items: ItemResult[];
}

/**
 * Writes the report as `<dir>/eval-<ISO time>[-<label>].json` (colons as dashes, so the name
 * is valid everywhere), never overwriting: a clash gets `-2`, `-3`… Returns the path.
 */
export async function writeReport(report: EvalReport, dir: string, label?: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const stamp = report.started_at.replace(/:/g, '-');
  const base = `eval-${stamp}${label ? `-${slug(label)}` : ''}`;
  const text = `${JSON.stringify(report, null, 2)}\n`;
  for (let attempt = 1; ; attempt += 1) {
    const path = join(dir, `${base}${attempt > 1 ? `-${attempt}` : ''}.json`);
    try {
      const handle = await open(path, 'wx', 0o644);
      try {
        await handle.writeFile(text, 'utf8');
      } finally {
        await handle.close();
      }
      return path;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 100) throw error;
    }
  }
}

/** A file-name-safe form of a candidate name. */
export const slug = (text: string): string =>
  text
    .normalize('NFKD')
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 60) || 'candidate';

/** Reads a report written by `writeReport`; a file that is not one is an `InvalidInputError`. */
export async function readReport(file: string): Promise<EvalReport> {
  let text: string;
  try {
    text = await readFile(resolve(file), 'utf8');
  } catch (error) {
    throw new InvalidInputError(`cannot read the report ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  let value: Partial<EvalReport>;
  try {
    value = JSON.parse(text) as Partial<EvalReport>;
  } catch {
    throw new InvalidInputError(`${file} is not JSON; give a report written by vega learn evaluate`);
  }
  if (value?.kind !== REPORT_KIND || !Array.isArray(value.items) || typeof value.eval_file?.sha256 !== 'string' || !value.summary) {
    throw new InvalidInputError(`${file} is not an eval report (no "kind": "${REPORT_KIND}"); give a report written by vega learn evaluate`);
  }
  if (value.version !== REPORT_VERSION) throw new InvalidInputError(`${file} is an eval report of version ${value.version}; this vega reads version ${REPORT_VERSION}`);
  return value as EvalReport;
}

/** Sums and means of item results (a failed item counts as 0 in `mean`). */
export function summarise(items: readonly ItemResult[]): ReportSummary {
  const answered = items.filter((item) => item.error === null).length;
  const graded = items.filter((item) => typeof item.judge?.score === 'number');
  const judgedAtAll = items.filter((item) => item.judge !== undefined).length;
  return {
    items: items.length,
    answered,
    failed: items.length - answered,
    mean: mean(items.map((item) => item.score)),
    judge_mean: graded.length > 0 ? mean(graded.map((item) => item.judge!.score!)) : null,
    judged: graded.length,
    judge_failed: judgedAtAll - graded.length,
  };
}

export const mean = (values: readonly number[]): number =>
  values.length === 0 ? 0 : Math.round((values.reduce((sum, value) => sum + value, 0) / values.length) * 10_000) / 10_000;
