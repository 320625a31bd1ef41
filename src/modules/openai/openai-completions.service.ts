import { Injectable } from '@nestjs/common';
import { AppConfig } from '../../config/app-config';
import type { CancelSignal } from '../../common/async/cancellation';
import { ClientClosedError, PayloadTooLargeError, UnsupportedFieldError } from '../../common/errors/app-errors';
import { randomHex } from '../../common/ids/random-hex';
import { GenerationSettingsService } from '../../core/llm/generation-settings.service';
import type { BackendCompletionRequest, BackendUsage, TokenLogprob } from '../../core/llm/llm-backend';
import { LlmService } from '../../core/llm/llm.service';
import { CompletionService, PreparedCompletionRun } from '../chat/completion.service';
import { namingServedModel } from '../chat/served-model';
import { CreateCompletionRequestDto } from './dto/text-completion-request.dto';

/** A validated legacy completion, ready to run: what is checked before a response starts. */
export interface PreparedTextCompletion {
  /** `cmpl-<hex>`; the hex part is the stored exchange's session id. */
  id: string;
  /** Unix seconds. */
  created: number;
  model: string;
  includeUsage: boolean;
  /** The prompt when `echo` asked for it to come first in `text`, else ''. */
  echo: string;
  /** Whether the answer carries log probabilities. */
  logprobs: boolean;
  request: BackendCompletionRequest;
}

export interface TextCompletionResult {
  /** The generated text (without the echoed prompt). */
  text: string;
  /** The model that answered: the one asked for, or one of its fallbacks. */
  model: string;
  usage: BackendUsage;
  finishReason: 'stop' | 'length';
  logprobs: TokenLogprob[];
}

export type TextCompletionEvent = { type: 'text'; text: string; logprobs?: TokenLogprob[] } | { type: 'done'; result: TextCompletionResult };

/**
 * OpenAI's legacy completions over `LlmService.streamCompletion` (Ollama `/api/generate`: the
 * prompt without a chat template), with the same cache, breaker, retries, timeouts and storage
 * as chat: each run is stored as an exchange (source `openai`, the prompt and the generated text).
 */
@Injectable()
export class OpenAiCompletionsService {
  constructor(
    private readonly config: AppConfig,
    private readonly llm: LlmService,
    private readonly completions: CompletionService,
    private readonly generation: GenerationSettingsService,
  ) {}

  prepare(body: CreateCompletionRequestDto): PreparedTextCompletion {
    // The DTO guarantees one non-empty text.
    const prompt = typeof body.prompt === 'string' ? body.prompt : body.prompt[0]!;
    const limit = this.config.chat.maxPromptChars;
    if (prompt.length > limit) {
      throw new PayloadTooLargeError(`prompt is ${prompt.length} characters; the limit is ${limit} (MAX_PROMPT_CHARS)`);
    }
    const logprobs = body.logprobs !== undefined;
    if (body.echo && logprobs) {
      throw new UnsupportedFieldError('echo', "cannot be combined with logprobs: the backend gives no log probabilities for the prompt's tokens");
    }
    this.llm.assertAvailable(body.model);
    const hex = randomHex(12);
    return {
      id: `cmpl-${hex}`,
      created: Math.floor(Date.now() / 1000),
      model: body.model,
      includeUsage: body.stream_options?.include_usage === true,
      echo: body.echo ? prompt : '',
      logprobs,
      request: {
        model: body.model,
        prompt,
        ...(body.suffix !== undefined ? { suffix: body.suffix } : {}),
        options: this.generation.optionsFor(prompt, samplingOptions(body)),
        ...(logprobs ? { logprobs: true, topLogprobs: body.logprobs } : {}),
      },
    };
  }

  /**
   * The generated text as it arrives, then `done`; the exchange is stored whatever happens (see
   * `CompletionService`), with source `openai`. A thinking model's reasoning is stored, not sent:
   * the legacy API has no place for it.
   */
  async *run(prepared: PreparedTextCompletion, signal: CancelSignal): AsyncGenerator<TextCompletionEvent> {
    const run = namingServedModel<PreparedCompletionRun>({ request: prepared.request, source: 'openai' as const, sessionId: prepared.id.slice('cmpl-'.length) }, prepared);
    for await (const event of this.completions.run(run, signal)) {
      if (event.type === 'token') yield { type: 'text', text: event.text, ...(event.logprobs ? { logprobs: event.logprobs } : {}) };
      else if (event.type === 'done') {
        const { text, model, usage, finishReason, logprobs } = event.result;
        yield { type: 'done', result: { text, model, usage, finishReason, logprobs } };
      }
    }
  }

  /** The whole answer (a non-streaming request). */
  async complete(prepared: PreparedTextCompletion, signal: CancelSignal): Promise<TextCompletionResult> {
    for await (const event of this.run(prepared, signal)) {
      if (event.type === 'done') return event.result;
    }
    throw new ClientClosedError();
  }
}

/** OpenAI's sampling fields as Ollama options; fields the client left out keep the server settings. */
function samplingOptions(body: CreateCompletionRequestDto): Record<string, unknown> {
  const options: Record<string, unknown> = {
    temperature: body.temperature,
    top_p: body.top_p,
    num_predict: body.max_tokens,
    stop: typeof body.stop === 'string' ? [body.stop] : body.stop,
    seed: body.seed,
    presence_penalty: body.presence_penalty,
    frequency_penalty: body.frequency_penalty,
  };
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined));
}
