import { resolve } from 'node:path';
import { Option, SubCommand, CommandRunner } from 'nest-commander';
import { AppConfig } from '../../config/app-config';
import { readCandidates, skipText } from '../../modules/evaluation/candidates';
import { EvalReport, readReport, writeReport } from '../../modules/evaluation/eval-report';
import { EvaluationService, MAX_CONCURRENCY } from '../../modules/evaluation/evaluation.service';
import { AppliedPrompt, PromptOptimizerService } from '../../modules/evaluation/prompt-optimizer.service';
import { compareReports } from '../../modules/evaluation/report-comparison';
import { optionMeta, commandMeta } from '../catalogue';
import { CommandFailedError, InterruptedError } from '../cli-errors';
import { Output } from '../output/output';
import { ProgressBar } from '../output/progress';
import { renderComparison, renderEvalItems, renderEvalSummary, renderRanking, skippedLines } from './evaluation-views';
import { parseInteger, parseText } from './option-parsers';
import { interruptible } from './request-input';
import { askServerToReload, ServerReload } from './server-reload';

const EVALUATE = ['learn', 'evaluate'];
const COMPARE = ['learn', 'compare'];
const OPTIMIZE = ['learn', 'optimize-prompt'];

interface EvaluateOptions {
  systemPrompt?: string;
  model?: string;
  concurrency?: number;
  judge?: string;
  runsDir?: string;
  json?: boolean;
}

/** No item answered: the backend is down or refuses the model; the first error says which. */
function nothingAnswered(report: EvalReport): CommandFailedError {
  const first = report.items.find((item) => item.error)?.error;
  return new CommandFailedError(`no item could be evaluated: every call failed${first ? ` (${first.type}: ${first.message})` : ''}`);
}

/** `vega learn evaluate EVAL.jsonl`: score the model on an eval set and write the run report. */
@SubCommand(commandMeta(...EVALUATE))
export class LearnEvaluateCommand extends CommandRunner {
  private readonly out = new Output();

  constructor(private readonly evaluation: EvaluationService) {
    super();
  }

  async run([file]: string[], options: EvaluateOptions): Promise<void> {
    const set = await this.evaluation.readEvalSet(file);
    process.stderr.write(skippedLines(file, set.skipped));
    const systemPrompt = options.systemPrompt ? await this.evaluation.systemPromptFromFile(options.systemPrompt) : undefined;
    const bar = new ProgressBar('evaluating', set.items.length);
    let report: EvalReport;
    try {
      report = await interruptible((signal) =>
        this.evaluation.evaluate(set, {
          model: options.model,
          systemPrompt,
          concurrency: options.concurrency,
          judgeModel: options.judge,
          signal,
          onProgress: (done, total) => bar.update(done, done === total),
        }),
      );
    } finally {
      bar.finish();
    }
    if (report.summary.answered === 0) throw nothingAnswered(report);
    const path = await writeReport(report, options.runsDir ? resolve(options.runsDir) : this.evaluation.defaultRunsDir);
    if (options.json) {
      this.out.json({ report_path: path, ...report });
      return;
    }
    this.out.write(renderEvalItems(report, this.out));
    this.out.write(renderEvalSummary(report, path));
  }

  @Option(optionMeta(EVALUATE, '--system-prompt'))
  parseSystemPrompt(value: string): string {
    return parseText(value, '--system-prompt');
  }

  @Option(optionMeta(EVALUATE, '--model'))
  parseModel(value: string): string {
    return parseText(value, '--model');
  }

  @Option(optionMeta(EVALUATE, '--concurrency'))
  parseConcurrency(value: string): number {
    return parseInteger(value, '--concurrency', 1, MAX_CONCURRENCY);
  }

  @Option(optionMeta(EVALUATE, '--judge'))
  parseJudge(value: string): string {
    return parseText(value, '--judge');
  }

  @Option(optionMeta(EVALUATE, '--runs-dir'))
  parseRunsDir(value: string): string {
    return parseText(value, '--runs-dir');
  }

  @Option(optionMeta(EVALUATE, '--json'))
  parseJson(): boolean {
    return true;
  }
}

/** `vega learn compare A.json B.json`: B against A, item by item. */
@SubCommand(commandMeta(...COMPARE))
export class LearnCompareCommand extends CommandRunner {
  private readonly out = new Output();

  async run([a, b]: string[], options: { json?: boolean }): Promise<void> {
    const comparison = compareReports(await readReport(a), await readReport(b), { a, b });
    if (options.json) this.out.json(comparison);
    else this.out.write(renderComparison(comparison, this.out));
  }

  @Option(optionMeta(COMPARE, '--json'))
  parseJson(): boolean {
    return true;
  }
}

type Applied = AppliedPrompt & { server: ServerReload | null };

interface OptimizeOptions {
  apply?: boolean;
  model?: string;
  concurrency?: number;
  runsDir?: string;
  json?: boolean;
}

/** `vega learn optimize-prompt CANDIDATES EVAL`: rank candidate system prompts; `--apply` installs the winner. */
@SubCommand(commandMeta(...OPTIMIZE))
export class LearnOptimizePromptCommand extends CommandRunner {
  private readonly out = new Output();

  constructor(
    private readonly config: AppConfig,
    private readonly evaluation: EvaluationService,
    private readonly optimizer: PromptOptimizerService,
  ) {
    super();
  }

  async run([candidatesPath, evalFile]: string[], options: OptimizeOptions): Promise<void> {
    // Refuse before spending the model's time on a run whose result could not be applied.
    if (options.apply) this.optimizer.targetFile();
    const { candidates, skipped } = await readCandidates(candidatesPath);
    for (const skip of skipped) process.stderr.write(`vega: ${candidatesPath}: skipped ${skipText(skip)}\n`);
    const set = await this.evaluation.readEvalSet(evalFile);
    process.stderr.write(skippedLines(evalFile, set.skipped));

    let bar: ProgressBar | undefined;
    const ranking = await interruptible((signal) =>
      this.optimizer.rank(candidates, set, {
        model: options.model,
        concurrency: options.concurrency,
        runsDir: options.runsDir ? resolve(options.runsDir) : this.evaluation.defaultRunsDir,
        signal,
        onProgress: (candidate, count, done, total) => {
          bar ??= new ProgressBar(`candidate ${candidate}/${count}`, total);
          bar.update(done, true);
          if (done === total) {
            bar.finish();
            bar = undefined;
          }
        },
      }),
    ).finally(() => bar?.finish());

    const winner = ranking[0];
    if (ranking.every((row) => row.report.summary.answered === 0)) throw nothingAnswered(winner.report);
    const failed = ranking.filter((row) => row.failed > 0);
    const apply = options.apply && failed.length === 0 ? await this.apply(winner.report.system_prompt!.text) : undefined;
    if (options.json) {
      this.out.json({
        winner: winner.name,
        ranking: ranking.map(({ report, ...row }) => ({ ...row, system_prompt_sha256: report.system_prompt?.sha256 ?? null })),
        applied: apply ?? null,
      });
    } else {
      this.out.write(renderRanking(ranking, this.out));
      this.out.line(`winner: ${winner.name} (mean ${winner.mean.toFixed(3)})`);
      if (apply) this.out.write(applyLines(apply));
    }
    if (options.apply && failed.length > 0) {
      throw new CommandFailedError(
        `not applied: ${failed.map((row) => `${row.name} (${row.failed} failed)`).join(', ')} had failed calls, so the ranking is not a fair one; run again when the backend is healthy`,
      );
    }
    const server = apply?.server;
    // The file is written, but the server that answered reads another one: the winner is not live.
    if (apply && server?.status === 'reloaded' && server.sha256 !== apply.sha256) {
      throw new CommandFailedError(
        `server at ${server.url} reloaded, but serves another prompt (sha256 ${server.sha256?.slice(0, 12) ?? 'none'}…): its SYSTEM_PROMPT_FILE is not ${apply.file}`,
      );
    }
  }

  private async apply(prompt: string): Promise<Applied> {
    const applied = await this.optimizer.apply(prompt);
    const server = applied.unchanged ? null : await askServerToReload(this.config);
    return { ...applied, server };
  }

  @Option(optionMeta(OPTIMIZE, '--apply'))
  parseApply(): boolean {
    return true;
  }

  @Option(optionMeta(OPTIMIZE, '--model'))
  parseModel(value: string): string {
    return parseText(value, '--model');
  }

  @Option(optionMeta(OPTIMIZE, '--concurrency'))
  parseConcurrency(value: string): number {
    return parseInteger(value, '--concurrency', 1, MAX_CONCURRENCY);
  }

  @Option(optionMeta(OPTIMIZE, '--runs-dir'))
  parseRunsDir(value: string): string {
    return parseText(value, '--runs-dir');
  }

  @Option(optionMeta(OPTIMIZE, '--json'))
  parseJson(): boolean {
    return true;
  }
}

function applyLines(applied: Applied): string {
  if (applied.unchanged) return `${applied.file} already holds the winner; nothing written\n`;
  const lines = [`wrote ${applied.file} (sha256 ${applied.sha256.slice(0, 12)}…)${applied.backup ? `; previous kept as ${applied.backup}` : ''}`];
  const server = applied.server;
  // A server that reloaded another prompt is the command's error (exit 1), reported on stderr.
  if (server?.status === 'reloaded') {
    if (server.sha256 === applied.sha256) lines.push(`server at ${server.url} reloaded it`);
  } else if (server) {
    lines.push(`server at ${server.url} not told (${server.detail}); a running server picks the file up through its watch`);
  }
  return `${lines.join('\n')}\n`;
}
