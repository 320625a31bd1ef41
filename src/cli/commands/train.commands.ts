import { Module } from '@nestjs/common';
import { Command, CommandRunner, Option, SubCommand } from 'nest-commander';
import type { AdapterFile } from '../../modules/training/adapter-files';
import { EvalReport, writeReport } from '../../modules/evaluation/eval-report';
import { EvalSet } from '../../modules/evaluation/eval-set';
import { EvaluationModule } from '../../modules/evaluation/evaluation.module';
import { EvaluationService } from '../../modules/evaluation/evaluation.service';
import { ModelRegistrationService, RegisterSummary } from '../../modules/training/model-registration.service';
import { BundleSummary, TrainingBundleService } from '../../modules/training/training-bundle.service';
import { loadTrainingConfig } from '../../modules/training/training-config';
import { TrainingModule } from '../../modules/training/training.module';
import { commandMeta, optionMeta } from '../catalogue';
import { CommandFailedError, UsageError } from '../cli-errors';
import { formatBytes, Output } from '../output/output';
import { ProgressBar } from '../output/progress';
import { renderTable } from '../output/table';
import { renderEvalItems, renderEvalSummary, skippedLines } from './evaluation-views';
import { parseText } from './option-parsers';

const TRAIN = ['train'];
const REGISTER = ['train', 'register'];

interface TrainOptions {
  config?: string;
  out?: string;
  json?: boolean;
}

interface RegisterOptions {
  adapter?: string;
  base?: string;
  name?: string;
  systemPrompt?: string;
  param?: [string, string][];
  eval?: string;
  json?: boolean;
}

const PARAM = /^([a-z_][a-z0-9_]*)=(.*)$/s;

/** `--param name=value`, collected over repeats. */
export function parseParam(value: string, previous: [string, string][] = []): [string, string][] {
  const match = PARAM.exec(value);
  if (!match) throw new UsageError(`--param must look like name=value, e.g. temperature=0.7 (got "${value}")`);
  return [...previous, [match[1], match[2]]];
}

/**
 * Ollama's `parameters` from `--param` pairs: numbers and true/false keep their type, a name
 * given more than once (and `stop`, which Ollama takes only as a list) becomes a list.
 */
export function parametersFrom(pairs: readonly [string, string][]): Record<string, unknown> {
  const values = new Map<string, unknown[]>();
  for (const [name, raw] of pairs) {
    const value = /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(raw) ? Number(raw) : raw === 'true' ? true : raw === 'false' ? false : raw;
    values.set(name, [...(values.get(name) ?? []), value]);
  }
  return Object.fromEntries([...values].map(([name, list]) => [name, list.length > 1 || name === 'stop' ? list : list[0]]));
}

/** `vega train register`: the trained adapter + a base model → a new Ollama model. */
@SubCommand(commandMeta(...REGISTER))
export class TrainRegisterCommand extends CommandRunner {
  private readonly out = new Output();

  constructor(
    private readonly registration: ModelRegistrationService,
    private readonly evaluation: EvaluationService,
  ) {
    super();
  }

  async run(_args: string[], options: RegisterOptions): Promise<void> {
    for (const flag of ['adapter', 'base', 'name'] as const) {
      if (!options[flag]) throw new UsageError(`vega train register: --${flag} is required (see vega train register --help)`);
    }
    // A bad eval file is reported before anything is uploaded.
    const evalSet = options.eval ? await this.evaluation.readEvalSet(options.eval) : undefined;
    if (evalSet) process.stderr.write(skippedLines(options.eval!, evalSet.skipped));
    const bars = new Map<string, ProgressBar>();
    let summary: RegisterSummary;
    try {
      summary = await this.registration.register(
        { adapter: options.adapter!, base: options.base!, name: options.name!, systemPromptFile: options.systemPrompt, parameters: parametersFrom(options.param ?? []) },
        {
          onUpload: (file: AdapterFile, sent: number) => {
            let bar = bars.get(file.name);
            if (!bar) bars.set(file.name, (bar = new ProgressBar(`uploading ${file.name}`, file.bytes, formatBytes)));
            bar.update(sent, sent === file.bytes);
            if (sent === file.bytes) bar.finish();
          },
          onStatus: (status) => this.out.note(status),
        },
      );
    } finally {
      for (const bar of bars.values()) bar.finish();
    }
    const evaluation = evalSet ? await this.evaluate(summary.name, evalSet) : undefined;
    if (options.json) {
      this.out.json(evaluation ? { ...summary, evaluation: { report_path: evaluation.path, summary: evaluation.report.summary } } : summary);
    } else this.print(summary);
    if (evaluation) {
      if (!options.json) {
        this.out.write(renderEvalItems(evaluation.report, this.out));
        this.out.write(renderEvalSummary(evaluation.report, evaluation.path));
      }
      if (evaluation.report.summary.answered === 0) {
        const first = evaluation.report.items.find((item) => item.error)?.error;
        throw new CommandFailedError(
          `${summary.name} is registered, but no eval item could be answered${first ? ` (${first.type}: ${first.message})` : ''}`,
        );
      }
    }
  }

  /**
   * The eval set against the new model, with the model's own system prompt (none is sent), so
   * the scores are those of the model as registered. The run report goes to the runs directory.
   */
  private async evaluate(model: string, set: EvalSet): Promise<{ report: EvalReport; path: string }> {
    const bar = new ProgressBar(`evaluating ${model}`, set.items.length);
    let report: EvalReport;
    try {
      report = await this.evaluation.evaluate(set, { model, systemPrompt: null, onProgress: (done, total) => bar.update(done, done === total) });
    } finally {
      bar.finish();
    }
    const path = report.summary.answered === 0 ? '(not written: nothing answered)' : await writeReport(report, this.evaluation.defaultRunsDir, model);
    return { report, path };
  }

  private print(summary: RegisterSummary): void {
    const c = this.out.colour;
    this.out.line(`${c.green('registered')} ${summary.model} (from ${summary.base}) at ${summary.ollama_url}`);
    for (const file of summary.adapter.files) {
      this.out.line(`  adapter  ${file.name}  ${formatBytes(file.bytes)}  ${file.digest.slice(0, 19)}…  ${file.uploaded ? 'uploaded' : 'already in Ollama'}`);
    }
    const system = summary.system_prompt;
    this.out.line(`  system   ${system.source === 'none' ? 'none' : `${system.chars} chars from ${system.source === 'file' ? system.file : `SYSTEM_PROMPT_FILE (${system.file})`}`}`);
    const params = Object.entries(summary.parameters);
    if (params.length > 0) this.out.line(`  params   ${params.map(([key, value]) => `${key}=${JSON.stringify(value)}`).join(' ')}`);
    this.out.line(`Try it: vega chat --model ${summary.name} "Hello"`);
  }

  @Option(optionMeta(REGISTER, '--adapter'))
  parseAdapter(value: string): string {
    return parseText(value, '--adapter');
  }

  @Option(optionMeta(REGISTER, '--base'))
  parseBase(value: string): string {
    return parseText(value, '--base');
  }

  @Option(optionMeta(REGISTER, '--name'))
  parseName(value: string): string {
    return parseText(value, '--name');
  }

  @Option(optionMeta(REGISTER, '--system-prompt'))
  parseSystemPrompt(value: string): string {
    return parseText(value, '--system-prompt');
  }

  @Option(optionMeta(REGISTER, '--param'))
  parseParam(value: string, previous?: [string, string][]): [string, string][] {
    return parseParam(value, previous);
  }

  @Option(optionMeta(REGISTER, '--eval'))
  parseEval(value: string): string {
    return parseText(value, '--eval');
  }

  @Option(optionMeta(REGISTER, '--json'))
  parseJson(): boolean {
    return true;
  }
}

/** `vega train --config FILE`: validates the config and writes the training bundle. */
@Command({ ...commandMeta(...TRAIN), subCommands: [TrainRegisterCommand] })
export class TrainCommand extends CommandRunner {
  private readonly out = new Output();

  constructor(private readonly bundles: TrainingBundleService) {
    super();
  }

  async run(_args: string[], options: TrainOptions): Promise<void> {
    if (!options.config) throw new UsageError('vega train: --config is required, e.g. vega train --config training/config.yaml (or give a command: register)');
    const config = await loadTrainingConfig(options.config);
    let bar: ProgressBar | undefined;
    let summary: BundleSummary;
    try {
      summary = await this.bundles.prepare(config, {
        outDir: options.out,
        onProgress: (progress) => {
          bar ??= new ProgressBar('reading dataset files', progress.filesTotal);
          bar.update(progress.filesDone, progress.filesDone === progress.filesTotal);
        },
      });
    } finally {
      bar?.finish();
    }
    if (options.json) return this.out.json(summary);
    this.out.write(renderBundleSummary(summary, this.out.width));
  }

  @Option(optionMeta(TRAIN, '--config'))
  parseConfig(value: string): string {
    return parseText(value, '--config');
  }

  @Option(optionMeta(TRAIN, '--out'))
  parseOut(value: string): string {
    return parseText(value, '--out');
  }

  @Option(optionMeta(TRAIN, '--json'))
  parseJson(): boolean {
    return true;
  }
}

/** The bundle directory and files, the record counts, then what to do on the GPU machine. */
export function renderBundleSummary(summary: BundleSummary, width?: number): string {
  type Row = { what: string; count: string; where: string };
  const rows: Row[] = [
    { what: 'records written', count: String(summary.records_written), where: `${summary.format} format` },
    { what: 'records skipped', count: String(summary.records_skipped), where: summary.skipped_records.map((group) => `${group.reason} ×${group.count}: ${group.examples[0]}`).join('; ') },
    { what: 'files read', count: String(summary.files_read), where: '' },
    { what: 'files skipped', count: String(summary.files_skipped), where: summary.skipped_files.map((group) => `${group.reason} ×${group.count}: ${group.examples[0]}`).join('; ') },
  ];
  const table = renderTable(
    rows,
    [
      { header: 'dataset', value: (row) => row.what },
      { header: 'count', value: (row) => row.count, align: 'right' },
      { header: 'detail', value: (row) => row.where, flex: true },
    ],
    { width },
  ).replace(/ +$/gm, '');
  return [
    `Bundle written to ${summary.bundle_dir}`,
    ...summary.files.map((file) => `  ${file}`),
    '',
    table.trimEnd(),
    '',
    `Vega does not train: copy the bundle to a GPU machine and follow its README.md (axolotl train axolotl.yaml),`,
    `then register the adapter here with vega train register (the README has the exact command).`,
    '',
  ].join('\n');
}

@Module({ imports: [TrainingModule, EvaluationModule], providers: [TrainCommand, TrainRegisterCommand] })
export class TrainCommandsModule {}
