import { Body, Controller, HttpCode, Optional, Post, Res } from '@nestjs/common';
import { RequireScope } from '../../common/auth/scopes.decorator';
import { ApiBody, ApiExtraModels, ApiOkResponse, ApiOperation, ApiProduces, ApiTags, getSchemaPath } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { AppConfig } from '../../config/app-config';
import { describeError } from '../../common/errors/all-exceptions.filter';
import { openAiErrorBody } from '../../common/errors/openai-error';
import type { CancelSignal } from '../../common/async/cancellation';
import { clientGone } from '../../common/http/client-gone';
import { ShutdownSignal } from '../../common/lifecycle/shutdown-signal';
import { DONE_FRAME } from './completion-frames';
import { CreateCompletionRequestDto } from './dto/text-completion-request.dto';
import { TextCompletionResponseDto } from './dto/text-completion-response.dto';
import { ApiOpenAiErrors } from './dto/openai-error.dto';
import { OpenAiCompletionsService, PreparedTextCompletion } from './openai-completions.service';
import { TextCompletionFrames, textCompletionResponse } from './text-completion-frames';
import { streamSse } from '../../common/streaming/sse-stream';

/** `POST /v1/completions`: OpenAI's legacy (text) completions, for tools that still use them. */
@ApiTags('openai')
@RequireScope('chat')
@Controller('v1')
@ApiExtraModels(TextCompletionResponseDto)
export class OpenAiCompletionsController {
  constructor(
    private readonly completions: OpenAiCompletionsService,
    private readonly config: AppConfig,
    @Optional() private readonly shutdown?: ShutdownSignal,
  ) {}

  @Post('completions')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Text completion (OpenAI-compatible, legacy)',
    description:
      "OpenAI's legacy completions: the prompt is continued as is, without a chat template (Ollama `/api/generate`), through the same cache, circuit breaker, retries, timeouts, key and rate limit as the chat routes; `suffix` fills in the middle (models with the `insert` capability). One prompt per request: several prompts, token arrays, `n`/`best_of` above 1 and `echo` with `logprobs` are refused with 400. Each run is stored as an exchange with source `openai`, the prompt and the generated text; the hex part of the `cmpl-` id is its session_id. With `stream: true`, a `text/event-stream` of `data: {text_completion}` chunks (text fragments, then one with `finish_reason`), then with `stream_options.include_usage` a chunk with `usage` and empty `choices`, then `data: [DONE]`; a failure before the first token is an ordinary HTTP error, one after it a `data: {\"error\": {...}}` frame.",
  })
  @ApiBody({
    type: CreateCompletionRequestDto,
    examples: { continue: { summary: 'Continue a text with the default model', value: { model: 'mistral', prompt: 'A circuit breaker in software', max_tokens: 32 } } },
  })
  @ApiOkResponse({
    description: 'The completion, or with `stream: true` the event stream described above (each `data:` frame a TextCompletionResponseDto).',
    content: {
      'application/json': { schema: { $ref: getSchemaPath(TextCompletionResponseDto) } },
      'text/event-stream': { schema: { $ref: getSchemaPath(TextCompletionResponseDto) } },
    },
  })
  @ApiProduces('application/json', 'text/event-stream')
  @ApiOpenAiErrors(400, 401, 404, 413, 429, 502, 503, 504)
  async create(@Body() body: CreateCompletionRequestDto, @Res() reply: FastifyReply): Promise<void> {
    const prepared = this.completions.prepare(body);
    const client = clientGone(reply);
    if (body.stream) return this.streamTo(reply, prepared, client);
    const result = await this.completions.complete(prepared, client);
    await reply.status(200).send(textCompletionResponse(prepared, result));
  }

  /** As the chat route: the headers go out with the first event, so an early failure keeps its status. */
  private streamTo(reply: FastifyReply, prepared: PreparedTextCompletion, client: CancelSignal): Promise<void> {
    const frames = new TextCompletionFrames(prepared);
    return streamSse({
      reply,
      client,
      shutdown: this.shutdown,
      heartbeatMs: this.config.chat.heartbeatMs,
      events: (signal) => this.completions.run(prepared, signal),
      start: async (sse) => {
        const echo = frames.echo();
        if (echo) await sse.data(echo);
      },
      write: async (sse, event) => {
        if (event.type === 'text') return sse.data(frames.text(event.text, event.logprobs));
        await sse.data(frames.finish(event.result));
        if (prepared.includeUsage) await sse.data(frames.usage(event.result));
        await sse.data(DONE_FRAME);
      },
      fail: (sse, failure) => sse.data(openAiErrorBody(failure, describeError(failure).body)),
    });
  }
}
