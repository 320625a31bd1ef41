import type { SkippedLine } from '../../modules/evaluation/eval-set';
import type { EvalReport, ItemResult } from '../../modules/evaluation/eval-report';
import type { Comparison, ItemDelta } from '../../modules/evaluation/report-comparison';
import type { RankedCandidate } from '../../modules/evaluation/prompt-optimizer.service';
import type { Output } from '../output/output';
import { renderTable } from '../output/table';

const score = (value: number): string => value.toFixed(3);
const signed = (value: number): string => (value > 0 ? `+${value.toFixed(3)}` : value.toFixed(3));
const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

/** Per item: its line, score, the metric that gave it (or "error"), the judge's grade, the prompt. */
export function renderEvalItems(report: EvalReport, out: Output): string {
  const judged = report.judge !== null;
  const judgeCell = (item: ItemResult) => (item.judge === undefined ? '-' : item.judge.score === null ? 'failed' : score(item.judge.score));
  return renderTable(
    report.items,
    [
      { header: 'line', value: (item) => String(item.line), align: 'right' },
      { header: 'score', value: (item) => score(item.score), align: 'right' },
      { header: 'metric', value: (item) => item.metric ?? 'error' },
      ...(judged ? [{ header: 'judge', value: judgeCell, align: 'right' as const }] : []),
      { header: 'prompt', value: (item) => item.prompt, flex: true },
    ],
    { width: out.width ?? 100, header: out.colour.dim },
  );
}

/** The mean, what failed and where the report is. */
export function renderEvalSummary(report: EvalReport, reportPath: string): string {
  const { summary } = report;
  const lines = [
    `mean ${score(summary.mean)} over ${summary.items} item(s)${summary.failed > 0 ? ` (${summary.failed} failed, counted as 0)` : ''} · model ${report.model} · ${seconds(report.duration_ms)}`,
  ];
  if (report.judge) {
    const mean = summary.judge_mean === null ? 'none' : score(summary.judge_mean);
    lines.push(`judge ${report.judge.model}: mean ${mean} over ${summary.judged} graded${summary.judge_failed > 0 ? ` (${summary.judge_failed} judge-failed)` : ''}`);
  }
  for (const item of report.items) {
    if (item.error) lines.push(`line ${item.line} failed: ${item.error.type}: ${item.error.message}`);
    else if (item.judge?.error) lines.push(`line ${item.line} judge-failed: ${item.judge.error}`);
  }
  lines.push(`report: ${reportPath}`);
  return `${lines.join('\n')}\n`;
}

/** One line per skipped input line, for stderr. */
export const skippedLines = (file: string, skipped: readonly SkippedLine[]): string =>
  skipped.map((skip) => `vega: ${file}: line ${skip.line} skipped: ${skip.reason}\n`).join('');

export function renderComparison(comparison: Comparison, out: Output): string {
  const table = renderTable(
    comparison.items,
    [
      { header: 'line', value: (item: ItemDelta) => String(item.line), align: 'right' },
      { header: 'A', value: (item) => score(item.a), align: 'right' },
      { header: 'B', value: (item) => score(item.b), align: 'right' },
      { header: 'delta', value: (item) => (item.change === 'unchanged' ? '=' : signed(item.delta)), align: 'right' },
      { header: 'prompt', value: (item) => item.prompt, flex: true },
    ],
    { width: out.width ?? 100, header: out.colour.dim },
  );
  const side = (name: string, run: Comparison['a']) =>
    `${name}: mean ${score(run.mean)}${run.judge_mean === null ? '' : `, judge ${score(run.judge_mean)}`} · model ${run.model} · system prompt ${run.system_prompt_sha256?.slice(0, 12) ?? 'none'} · ${run.started_at}`;
  return [
    table,
    side('A', comparison.a),
    side('B', comparison.b),
    `B - A: ${signed(comparison.delta)} · ${comparison.improved} improved, ${comparison.regressed} regressed, ${comparison.unchanged} unchanged`,
    '',
  ].join('\n');
}

export function renderRanking(ranking: readonly RankedCandidate[], out: Output): string {
  return renderTable(
    [...ranking],
    [
      { header: 'rank', value: (row: RankedCandidate) => String(row.rank), align: 'right' },
      { header: 'mean', value: (row) => score(row.mean), align: 'right' },
      { header: 'failed', value: (row) => String(row.failed), align: 'right' },
      { header: 'candidate', value: (row) => row.name },
      { header: 'report', value: (row) => row.report_path, flex: true },
    ],
    { width: out.width, header: out.colour.dim },
  );
}
