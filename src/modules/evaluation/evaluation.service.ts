import { Injectable } from '@nestjs/common';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { mapLimit } from '../../common/async/map-limit';
import { AppError, ClientClosedError, InvalidInputError } from '../../common/errors/app-errors';
import { AppConfig } from '../../config/app-config';
import { GenerationSettingsService } from '../../core/llm/generation-settings.service';
import type { ChatMessage } from '../../core/llm/llm-backend';
import { LlmRequest, LlmService } from '../../core/llm/llm.service';
import { SystemPromptService } from '../../core/llm/system-prompt.service';
import { EvalReport, ItemResult, JudgeResult, REPORT_KIND, REPORT_VERSION, summarise, SystemPromptInfo } from './eval-report';
import { EvalItem, EvalSet, readEvalSet, sha256 } from './eval-set';
import { JUDGE_OPTIONS, JUDGE_RUBRIC_VERSION, judgeMessages, parseJudgeScore } from './judge';
import { scoreAnswer } from './scoring';

export const DEFAULT_CONCURRENCY = 4;
export const MAX_CONCURRENCY = 64;

/** Which system prompt a run uses: a given text, none (`null`), or the server's (`undefined`). */
export type SystemPromptChoice = { text: string; source: string } | null | undefined;

export interface EvaluateOptions {
  /** The model to evaluate; default `MODEL_NAME`. */
  model?: string;
  /** Default (undefined): the configured `SYSTEM_PROMPT_FILE`, as the API sends it. */
  systemPrompt?: SystemPromptChoice;
  /** Items in flight at once (1..64, default 4). */
  concurrency?: number;
  /** Also have this model grade each answer with the fixed rubric. */
  judgeModel?: string;
  /** Aborting stops the run: the pending calls are cancelled and `evaluate` rejects with `ClientClosedError`. */
  signal?: AbortSignal;
  /** Called after each item with the count done so far. */
  onProgress?: (done: number, total: number) => void;
}

/**
 * Runs an eval set through the same `LlmService` as the API (cache, circuit breaker, retries
 * and timeouts apply), with the generation settings the API would use for each prompt, and
 * scores every answer. A backend failure is recorded on its item (score 0) and the run goes
 * on; nothing is stored in the conversation history.
 */
@Injectable()
export class EvaluationService {
  constructor(
    private readonly config: AppConfig,
    private readonly llm: LlmService,
    private readonly generation: GenerationSettingsService,
    private readonly systemPrompt: SystemPromptService,
  ) {}

  /** Where run reports go unless told otherwise: `<VEGA_DATA_DIR>/runs`. */
  get defaultRunsDir(): string {
    return join(this.config.dataDir, 'runs');
  }

  /** Reads an eval file (see `readEvalSet`). */
  readEvalSet(file: string): Promise<EvalSet> {
    return readEvalSet(file);
  }

  /** A system prompt file for `systemPrompt`: its trimmed text; an unreadable or empty file is an `InvalidInputError`. */
  async systemPromptFromFile(file: string): Promise<{ text: string; source: string }> {
    let text: string;
    try {
      text = (await readFile(file, 'utf8')).trim();
    } catch (error) {
      throw new InvalidInputError(`cannot read the system prompt ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
    }
    if (text === '') throw new InvalidInputError(`the system prompt file ${file} is empty`);
    return { text, source: resolve(file) };
  }

  /** Reads the eval file, then `evaluate`. */
  async evaluateFile(file: string, options: EvaluateOptions = {}): Promise<EvalReport> {
    return this.evaluate(await readEvalSet(file), options);
  }

  async evaluate(set: EvalSet, options: EvaluateOptions = {}): Promise<EvalReport> {
    const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
    if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > MAX_CONCURRENCY) {
      throw new InvalidInputError(`concurrency must be an integer between 1 and ${MAX_CONCURRENCY} (got ${concurrency})`);
    }
    const model = options.model ?? this.config.llm.model;
    const system = this.resolveSystemPrompt(options.systemPrompt);
    const signal = options.signal ?? new AbortController().signal;
    const startedAt = new Date();
    const started = performance.now();
    let done = 0;
    const items = await mapLimit(set.items, concurrency, async (item) => {
      const result = await this.runItem(item, model, system?.text, options.judgeModel, signal);
      options.onProgress?.(++done, set.items.length);
      return result;
    });
    return {
      kind: REPORT_KIND,
      version: REPORT_VERSION,
      started_at: startedAt.toISOString(),
      finished_at: new Date().toISOString(),
      duration_ms: Math.round(performance.now() - started),
      model,
      judge: options.judgeModel ? { model: options.judgeModel, rubric_version: JUDGE_RUBRIC_VERSION } : null,
      system_prompt: system,
      eval_file: { path: set.path, sha256: set.sha256, items: set.items.length, skipped_lines: set.skipped },
      concurrency,
      summary: summarise(items),
      items,
    };
  }

  private resolveSystemPrompt(choice: SystemPromptChoice): SystemPromptInfo | null {
    if (choice === null) return null;
    const chosen = choice ?? this.configuredSystemPrompt();
    if (!chosen) return null;
    return { source: chosen.source, sha256: sha256(chosen.text), length: chosen.text.length, text: chosen.text };
  }

  private configuredSystemPrompt(): { text: string; source: string } | undefined {
    const text = this.systemPrompt.get();
    return text ? { text, source: `SYSTEM_PROMPT_FILE (${this.systemPrompt.file})` } : undefined;
  }

  private async runItem(item: EvalItem, model: string, system: string | undefined, judgeModel: string | undefined, signal: AbortSignal): Promise<ItemResult> {
    const started = performance.now();
    const messages: ChatMessage[] = system ? [{ role: 'system', content: system }] : [];
    messages.push({ role: 'user', content: item.prompt });
    const base = { line: item.line, prompt: item.prompt, expected: item.expected };
    let answer: { text: string; cached: boolean };
    try {
      answer = await this.complete({ model, messages, options: this.generation.optionsFor(item.prompt) }, signal);
    } catch (error) {
      return { ...base, answer: null, score: 0, metric: null, scores: null, error: describe(error), cached: false, duration_ms: elapsed(started) };
    }
    const scored = scoreAnswer(answer.text, item.expected);
    const result: ItemResult = {
      ...base,
      answer: answer.text,
      score: scored.score,
      metric: scored.metric,
      scores: scored.scores,
      error: null,
      cached: answer.cached,
      duration_ms: 0,
    };
    if (judgeModel) result.judge = await this.judge(item, answer.text, judgeModel, signal);
    result.duration_ms = elapsed(started);
    return result;
  }

  private async judge(item: EvalItem, answer: string, model: string, signal: AbortSignal): Promise<JudgeResult> {
    let reply: string;
    try {
      reply = (await this.complete({ model, messages: judgeMessages(item.prompt, item.expected, answer), options: { ...JUDGE_OPTIONS } }, signal)).text;
    } catch (error) {
      return { score: null, error: `judge call failed: ${describe(error).message}` };
    }
    const score = parseJudgeScore(reply);
    if (score === undefined) return { score: null, error: 'no grade between 0 and 1 in the judge reply', reply: reply.slice(0, 500) };
    return { score };
  }

  /**
   * The whole answer of one call. Backend failures (app errors) are the caller's to record;
   * an abort of the run, or an error that is not the backend's, propagates.
   */
  private async complete(request: LlmRequest, signal: AbortSignal): Promise<{ text: string; cached: boolean }> {
    let text = '';
    try {
      for await (const event of this.llm.stream(request, signal)) {
        if (event.type === 'token') text += event.text;
        else if (event.type === 'done') return { text, cached: event.cached };
      }
    } catch (error) {
      if (signal.aborted || error instanceof ClientClosedError) throw new ClientClosedError();
      throw error instanceof AppError ? new ItemFailure(error) : error;
    }
    throw new ClientClosedError();
  }
}

/** A backend failure of one call: recorded on its item, never fatal to the run. */
class ItemFailure extends Error {
  constructor(readonly error: AppError) {
    super(error.message);
  }
}

function describe(error: unknown): { type: string; message: string } {
  if (error instanceof ItemFailure) return { type: error.error.name, message: error.error.message };
  throw error;
}

const elapsed = (started: number): number => Math.round(performance.now() - started);
