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
import { CompletionFrames, completionResponse, DONE_FRAME } from './completion-frames';
import { ChatCompletionRequestDto } from './dto/chat-completion-request.dto';
import { ImageContentPartDto, TextContentPartDto } from './dto/chat-message.dto';
import { ChatCompletionChunkDto, ChatCompletionResponseDto } from './dto/chat-completion-response.dto';
import { ApiOpenAiErrors } from './dto/openai-error.dto';
import { OpenAiChatService, PreparedCompletion } from './openai-chat.service';
import type { ChatResult } from '../chat/chat.service';
import { streamSse } from '../../common/streaming/sse-stream';

const STREAM_DESCRIPTION = [
  'With `stream: true`, a `text/event-stream` of unnamed events: `data: {chat.completion.chunk}` frames — per choice, the first with',
  '`delta.role`, then `delta.content` pieces, reasoning pieces in `delta.reasoning_content` and `delta.reasoning`, each tool call as',
  'an opening delta (index, id, type, function.name, empty arguments) and one with its arguments, the last with an empty delta and',
  '`finish_reason` — then, with `stream_options.include_usage`, a chunk with `usage` and empty `choices`, then `data: [DONE]`.',
  'The response starts with the first event: a failure before it is an ordinary HTTP error, one after it is a',
  '`data: {"error": {...}}` frame that ends the stream (the OpenAI SDKs raise it as an APIError).',
  'If the client disconnects, the generation is cancelled at once and the exchange is stored as `aborted`.',
].join(' ');

const TOOLS_DESCRIPTION = [
  'Tool calling: `tools` go to the model (it needs the `tools` capability); its calls come back as `message.tool_calls` with',
  '`finish_reason: "tool_calls"`, and the client sends the results as `tool` messages naming the call (`tool_call_id`), after the',
  "assistant message with the calls. Ollama has no `tool_choice`: `none` leaves the tools out, `required` and a named function",
  "are made with `format` (a JSON Schema of the allowed calls) and turned into the call. `response_format` json_object/json_schema",
  'is Ollama `format`; with `json_schema.strict` the answer is checked against the schema and one that does not conform is a 502',
  '`invalid_model_output`. `reasoning_effort` is Ollama `think`. Images (`image_url` parts) are data URLs or https URLs that Vega fetches.',
].join(' ');

const REFUSED_DESCRIPTION = [
  'Refused with 400 `unknown_parameter` (Ollama has no equivalent, and a field Vega cannot honour is never silently dropped):',
  '`logit_bias`, `audio`/`modalities` (no audio output), `prediction`, `web_search_options`, `functions`/`function_call`',
  '(deprecated: use `tools`), `store`/`metadata`/`service_tier`/`prompt_cache_key`/`safety_identifier`/`verbosity`',
  "(OpenAI's own platform features). Custom tools, `allowed_tools` tool choices, audio and file parts are refused naming the field.",
].join(' ');

/** `POST /v1/chat/completions`: OpenAI's Chat Completions, so any OpenAI SDK can talk to Vega. */
@ApiTags('openai')
@RequireScope('chat')
@Controller('v1')
@ApiExtraModels(ChatCompletionResponseDto, ChatCompletionChunkDto, TextContentPartDto, ImageContentPartDto)
export class OpenAiChatController {
  constructor(
    private readonly completions: OpenAiChatService,
    private readonly config: AppConfig,
    @Optional() private readonly shutdown?: ShutdownSignal,
  ) {}

  @Post('chat/completions')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Chat completion (OpenAI-compatible)',
    description: `OpenAI's Chat Completions request and response, so the OpenAI SDKs work with \`base_url\` set to Vega's \`/v1\` and Vega's API key as theirs. The client's messages are sent to the model as given (Vega's system prompt goes first only when they hold no system or developer message; no session memory is added), through the same cache, circuit breaker, retries and timeouts as POST /chat. Every exchange is stored like one of POST /chat, with source \`openai\`, the last user message as the prompt, and the hex part of the completion id as its session_id (with \`n\` > 1, one exchange per choice). ${TOOLS_DESCRIPTION} ${STREAM_DESCRIPTION} ${REFUSED_DESCRIPTION}`,
  })
  @ApiBody({
    type: ChatCompletionRequestDto,
    // What Swagger UI's "Try it out" sends: the default model, nothing a default install lacks.
    examples: {
      question: {
        summary: 'One question to the default model',
        value: { model: 'mistral', messages: [{ role: 'user', content: 'Explain what a circuit breaker does in two sentences.' }] },
      },
    },
  })
  @ApiOkResponse({
    description:
      'The completion, or with `stream: true` the event stream described above: `data:` frames, each a ChatCompletionChunkDto as JSON, then `data: [DONE]` (described per frame, as OpenAI\'s own document does).',
    content: {
      'application/json': { schema: { $ref: getSchemaPath(ChatCompletionResponseDto) } },
      'text/event-stream': { schema: { $ref: getSchemaPath(ChatCompletionChunkDto) } },
    },
  })
  @ApiProduces('application/json', 'text/event-stream')
  @ApiOpenAiErrors(400, 401, 404, 413, 429, 502, 503, 504)
  async create(@Body() body: ChatCompletionRequestDto, @Res() reply: FastifyReply): Promise<void> {
    const client = clientGone(reply);
    const prepared = await this.completions.prepare(body, client);
    if (body.stream) return this.streamTo(reply, prepared, client);
    const results = await this.completions.complete(prepared, client);
    await reply.status(200).send(completionResponse(prepared, results));
  }

  /**
   * The headers go out with the first event, so a failure before any token (unknown model,
   * backend down, first-token timeout) keeps its HTTP status, as with OpenAI itself.
   */
  private streamTo(reply: FastifyReply, prepared: PreparedCompletion, client: CancelSignal): Promise<void> {
    const frames = new CompletionFrames(prepared);
    const results: ChatResult[] = [];
    return streamSse({
      reply,
      client,
      shutdown: this.shutdown,
      heartbeatMs: this.config.chat.heartbeatMs,
      events: (signal) => this.completions.run(prepared, signal),
      write: async (sse, { index, event }) => {
        for (const frame of frames.frames(index, event)) await sse.data(frame);
        if (event.type === 'done') results[index] = event.result;
      },
      end: async (sse) => {
        if (results.filter(Boolean).length < prepared.n) return;
        if (prepared.includeUsage) await sse.data(frames.usage(results));
        await sse.data(DONE_FRAME);
      },
      fail: (sse, failure) => sse.data(openAiErrorBody(failure, describeError(failure).body)),
    });
  }
}
