import { InvalidInputError } from '../../common/errors/app-errors';
import type { EvalReport, ItemResult } from './eval-report';

/** A change smaller than this is "unchanged" (scores carry 4 decimals). */
const EPSILON = 1e-9;

export interface ItemDelta {
  line: number;
  prompt: string;
  a: number;
  b: number;
  delta: number;
  change: 'improved' | 'regressed' | 'unchanged';
}

export interface Comparison {
  a: { model: string; system_prompt_sha256: string | null; started_at: string; mean: number; judge_mean: number | null };
  b: { model: string; system_prompt_sha256: string | null; started_at: string; mean: number; judge_mean: number | null };
  eval_file_sha256: string;
  /** B's mean minus A's. */
  delta: number;
  improved: number;
  regressed: number;
  unchanged: number;
  items: ItemDelta[];
}

/**
 * Compares run B against run A item by item. Items are matched by prompt (the n-th
 * occurrence of a prompt in A with the n-th in B). Runs of different eval files are refused:
 * their means do not measure the same thing, and a partial match would hide that.
 */
export function compareReports(a: EvalReport, b: EvalReport, names: { a: string; b: string } = { a: 'A', b: 'B' }): Comparison {
  if (a.eval_file.sha256 !== b.eval_file.sha256) {
    throw new InvalidInputError(
      `${names.a} and ${names.b} ran different eval files (${a.eval_file.path} sha256 ${a.eval_file.sha256.slice(0, 12)}… vs ` +
        `${b.eval_file.path} sha256 ${b.eval_file.sha256.slice(0, 12)}…); compare two runs of the same eval file`,
    );
  }
  const inB = new Map<string, ItemResult[]>();
  for (const item of b.items) inB.set(item.prompt, [...(inB.get(item.prompt) ?? []), item]);
  const items: ItemDelta[] = [];
  for (const itemA of a.items) {
    const itemB = inB.get(itemA.prompt)?.shift();
    if (!itemB) continue;
    const delta = Math.round((itemB.score - itemA.score) * 10_000) / 10_000;
    const change = delta > EPSILON ? 'improved' : delta < -EPSILON ? 'regressed' : 'unchanged';
    items.push({ line: itemA.line, prompt: itemA.prompt, a: itemA.score, b: itemB.score, delta, change });
  }
  const side = (report: EvalReport) => ({
    model: report.model,
    system_prompt_sha256: report.system_prompt?.sha256 ?? null,
    started_at: report.started_at,
    mean: report.summary.mean,
    judge_mean: report.summary.judge_mean,
  });
  return {
    a: side(a),
    b: side(b),
    eval_file_sha256: a.eval_file.sha256,
    delta: Math.round((b.summary.mean - a.summary.mean) * 10_000) / 10_000,
    improved: items.filter((item) => item.change === 'improved').length,
    regressed: items.filter((item) => item.change === 'regressed').length,
    unchanged: items.filter((item) => item.change === 'unchanged').length,
    items,
  };
}
