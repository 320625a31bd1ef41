import { Body, Controller, HttpCode, Optional, Post, Res } from '@nestjs/common';
import { ApiBody, ApiExtraModels, ApiOkResponse, ApiOperation, ApiProduces, ApiTags, getSchemaPath } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { AppConfig } from '../../config/app-config';
import type { CancelSignal } from '../../common/async/cancellation';
import { describeError } from '../../common/errors/all-exceptions.filter';
import { anthropicErrorBody } from '../../common/errors/anthropic-error';
import { RequireScope } from '../../common/auth/scopes.decorator';
import { clientGone } from '../../common/http/client-gone';
import { ShutdownSignal } from '../../common/lifecycle/shutdown-signal';
import type { SseWriter } from '../../common/streaming/sse-writer';
import { AnthropicMessagesService, PreparedMessage } from './anthropic-messages.service';
import { REQUEST_BLOCK_DTOS } from './dto/content-blocks';
import { ApiAnthropicErrors } from './dto/anthropic-error.dto';
import { CountMessageTokensRequestDto, CreateMessageRequestDto } from './dto/create-message-request.dto';
import { MessageResponseDto, MessageStreamEventDto, MessageTokensCountDto } from './dto/message-response.dto';
import { MessageFrames, messageObject } from './message-frames';
import { streamSse } from '../../common/streaming/sse-stream';

const DESCRIPTION = [
  "Anthropic's Messages API, so the Anthropic SDKs and Claude-style agents work with their base URL set to Vega (no `/v1`) and Vega's API key",
  'as theirs (`x-api-key` or `Authorization: Bearer`); `anthropic-version` and `anthropic-beta` are ignored. The messages go to the model as',
  "given (Vega's system prompt only when `system` is absent; no session memory), through the same cache, circuit breaker, retries, timeouts and",
  'context guard as POST /chat, and every exchange is stored with source `anthropic`, the last user text as its prompt and the hex part of',
  'the message id as its session_id. Mapping to Ollama: `max_tokens` → `num_predict`; `temperature`, `top_p`, `top_k` → options;',
  '`thinking` enabled/disabled → `think` true/false (the budget is checked, not enforced); images → images; `tool_use`/`tool_result` →',
  'tool calls and `tool` messages; `tool_choice` any/tool are made with `format`. `stop_sequences` are watched by Vega itself so',
  '`stop_reason: "stop_sequence"` can name the one hit. Refused with 400: server tools, `document`/`search_result`/server-tool/MCP blocks,',
  'file image sources, `output_config`, `service_tier`, `container`, `mcp_servers` and any other field not listed; `cache_control` is',
  'accepted and ignored (billing only).',
].join(' ');

const STREAM_DESCRIPTION = [
  "With `stream: true`, Anthropic's named events (`event: <type>` + `data: {\"type\": <type>, …}`): `message_start`, `ping`, then per",
  'content block `content_block_start`, `content_block_delta`* (`thinking_delta` then `signature_delta`, `text_delta`, `input_json_delta`),',
  '`content_block_stop`, then `message_delta` (stop reason, usage) and `message_stop`. The stream starts with the first event: a failure',
  'before it is an ordinary HTTP error; one after it is an `event: error` frame. A client that disconnects cancels the generation (stored `aborted`).',
].join(' ');

/** `POST /v1/messages` and `POST /v1/messages/count_tokens`: Anthropic's Messages API. */
@ApiTags('anthropic')
@RequireScope('chat')
@Controller('v1/messages')
@ApiExtraModels(MessageResponseDto, MessageStreamEventDto, ...REQUEST_BLOCK_DTOS)
export class AnthropicMessagesController {
  constructor(
    private readonly messages: AnthropicMessagesService,
    private readonly config: AppConfig,
    @Optional() private readonly shutdown?: ShutdownSignal,
  ) {}

  @Post()
  @HttpCode(200)
  @ApiOperation({ summary: 'Create a message (Anthropic-compatible)', description: `${DESCRIPTION} ${STREAM_DESCRIPTION}` })
  @ApiBody({
    type: CreateMessageRequestDto,
    examples: {
      question: {
        summary: 'One question to the default model',
        value: { model: 'mistral', max_tokens: 512, messages: [{ role: 'user', content: 'Explain what a circuit breaker does in two sentences.' }] },
      },
    },
  })
  @ApiOkResponse({
    description: 'The message, or with `stream: true` the event stream described above (each event\'s data a MessageStreamEventDto).',
    content: {
      'application/json': { schema: { $ref: getSchemaPath(MessageResponseDto) } },
      'text/event-stream': { schema: { $ref: getSchemaPath(MessageStreamEventDto) } },
    },
  })
  @ApiProduces('application/json', 'text/event-stream')
  @ApiAnthropicErrors(400, 401, 404, 413, 429, 502, 504, 529)
  async create(@Body() body: CreateMessageRequestDto, @Res() reply: FastifyReply): Promise<void> {
    const client = clientGone(reply);
    const prepared = await this.messages.prepare(body, client);
    if (body.stream) return this.streamTo(reply, prepared, client);
    const result = await this.messages.complete(prepared, client);
    await reply.status(200).send(messageObject(prepared, result));
  }

  @Post('count_tokens')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Count the tokens of a message request (Anthropic-compatible; an estimate)',
    description:
      "The prompt the same request to POST /v1/messages would send (Vega's system prompt included when `system` is absent, images counted at 768 tokens each, tools as their JSON), measured by the estimate Vega's context guard uses: Ollama has no tokenizer route, so this is an estimate on the high side, not the model's own count. Nothing is generated or stored; an unknown model is a 404.",
  })
  @ApiBody({
    type: CountMessageTokensRequestDto,
    examples: {
      question: {
        summary: 'One question to the default model',
        value: { model: 'mistral', messages: [{ role: 'user', content: 'Explain what a circuit breaker does in two sentences.' }] },
      },
    },
  })
  @ApiOkResponse({ type: MessageTokensCountDto })
  @ApiAnthropicErrors(400, 401, 404, 429, 529)
  async countTokens(@Body() body: CountMessageTokensRequestDto, @Res() reply: FastifyReply): Promise<void> {
    const inputTokens = await this.messages.countTokens(body, clientGone(reply));
    await reply.status(200).send({ input_tokens: inputTokens });
  }

  /** The headers go out with the first event, so a failure before any (unknown model, backend down) keeps its HTTP status. */
  private streamTo(reply: FastifyReply, prepared: PreparedMessage, client: CancelSignal): Promise<void> {
    const frames = new MessageFrames(prepared);
    const send = async (sse: SseWriter, batch: Iterable<{ event: string; data: unknown }>) => {
      for (const frame of batch) await sse.event(frame.event, frame.data);
    };
    return streamSse({
      reply,
      client,
      shutdown: this.shutdown,
      heartbeatMs: this.config.chat.heartbeatMs,
      events: (signal) => this.messages.run(prepared, signal),
      start: (sse) => send(sse, frames.start()),
      write: (sse, event) => send(sse, frames.frames(event)),
      fail: (sse, failure) => sse.event('error', anthropicErrorBody(failure, describeError(failure).body)),
    });
  }
}
