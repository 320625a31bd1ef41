import { Body, Controller, Delete, Get, HttpCode, Optional, Param, Post, Query, Res } from '@nestjs/common';
import { ApiBody, ApiExtraModels, ApiOkResponse, ApiOperation, ApiProduces, ApiTags, getSchemaPath } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { AppConfig } from '../../config/app-config';
import { RequireScope } from '../../common/auth/scopes.decorator';
import { describeError } from '../../common/errors/all-exceptions.filter';
import { openAiErrorBody } from '../../common/errors/openai-error';
import type { CancelSignal } from '../../common/async/cancellation';
import { clientGone } from '../../common/http/client-gone';
import { ShutdownSignal } from '../../common/lifecycle/shutdown-signal';
import type { SseWriter } from '../../common/streaming/sse-writer';
import { ApiOpenAiErrors } from '../openai/dto/openai-error.dto';
import { CreateResponseRequestDto } from './dto/create-response-request.dto';
import { DeletedResponseDto, ResponseIdParamDto, ResponseObjectDto, ResponseStreamEventDto, RetrieveResponseQueryDto } from './dto/response-object.dto';
import { ResponseEvent, ResponseEvents } from './response-events';
import { PreparedResponse, ResponsesService } from './responses.service';
import { streamSse } from '../../common/streaming/sse-stream';

const STREAM_DESCRIPTION = [
  'With `stream: true`, a `text/event-stream` of named events, each `event: <type>` and `data: {type, sequence_number, …}`:',
  '`response.created` and `response.in_progress` (the Response, status in_progress), then per output item `response.output_item.added`,',
  'its parts and deltas (`response.output_text.delta`, `response.reasoning_summary_text.delta`, `response.function_call_arguments.delta`)',
  'and their `.done` events, `response.output_item.done`, then `response.completed` (or `response.incomplete` at max_output_tokens) with the',
  'whole Response. The response starts with the first event: a failure before it is an ordinary HTTP error, one after it is an `error` event',
  '(`{type, code, message, param, sequence_number}`, raised by the OpenAI SDKs as an APIError) followed by `response.failed`.',
  'If the client disconnects, the generation is cancelled at once and the exchange is stored as `aborted`.',
].join(' ');

const REFUSED_DESCRIPTION = [
  'Refused with 400 naming the field (a field Vega cannot honour is never silently dropped): built-in tools (web_search, file_search,',
  'code_interpreter, mcp, custom…) and tool choices of them, `input_file`/`input_audio` parts, `file_id` images, `item_reference` items,',
  '`include`, `background`, `conversation`, `metadata`, `prompt`, `prompt_cache_key`, `safety_identifier`, `service_tier`, `truncation`,',
  '`top_logprobs`, `text.verbosity` (unknown_parameter).',
].join(' ');

/** OpenAI's Responses API: `POST /v1/responses`, and the stored responses by id. */
@ApiTags('openai')
@RequireScope('chat')
@Controller('v1/responses')
@ApiExtraModels(ResponseObjectDto, ResponseStreamEventDto)
export class ResponsesController {
  constructor(
    private readonly responses: ResponsesService,
    private readonly config: AppConfig,
    @Optional() private readonly shutdown?: ShutdownSignal,
  ) {}

  @Post()
  @HttpCode(200)
  @ApiOperation({
    summary: 'Create a response (OpenAI Responses API)',
    description: `OpenAI's Responses request and Response object, so the OpenAI SDKs' \`client.responses\` work with \`base_url\` set to Vega's \`/v1\` and Vega's API key as theirs. \`input\` (a string or items: messages with text and images, function_call, function_call_output, reasoning) becomes one chat, after \`instructions\` (or Vega's system prompt when the input holds no system or developer message) and, with \`previous_response_id\`, after the stored conversation of that response (what it was asked, then its answer; its instructions are not carried over). It runs through the same cache, circuit breaker, retries, timeouts and context guard as POST /chat and is stored like every exchange, with source \`responses\`, the last user message as the prompt and the response id (\`response_id\`); a continued response keeps the session id of the one it continues. \`store: false\` is accepted, but Vega stores every exchange all the same (\`store: true\` in the answer). Function tools, \`tool_choice\`, \`text.format\` (json_object, json_schema, strict checked with ajv), \`reasoning.effort\` (Ollama \`think\`; the reasoning comes back as a \`reasoning\` item), \`max_output_tokens\`, \`temperature\` and \`top_p\` map as for /v1/chat/completions. ${STREAM_DESCRIPTION} ${REFUSED_DESCRIPTION}`,
  })
  @ApiBody({
    type: CreateResponseRequestDto,
    examples: {
      question: { summary: 'One question to the default model', value: { model: 'mistral', input: 'Explain what a circuit breaker does in two sentences.' } },
    },
  })
  @ApiOkResponse({
    description: 'The Response, or with `stream: true` the event stream described above (each event a ResponseStreamEventDto as JSON).',
    content: {
      'application/json': { schema: { $ref: getSchemaPath(ResponseObjectDto) } },
      'text/event-stream': { schema: { $ref: getSchemaPath(ResponseStreamEventDto) } },
    },
  })
  @ApiProduces('application/json', 'text/event-stream')
  @ApiOpenAiErrors(400, 401, 404, 413, 429, 502, 503, 504)
  async create(@Body() body: CreateResponseRequestDto, @Res() reply: FastifyReply): Promise<void> {
    const client = clientGone(reply);
    const prepared = await this.responses.prepare(body, client);
    if (body.stream) return this.streamTo(reply, prepared, client);
    await reply.status(200).send(await this.responses.complete(prepared, client));
  }

  @Get(':id')
  @ApiOperation({
    summary: 'Retrieve a stored response',
    description:
      'The Response object rebuilt from its stored exchange: output (reasoning, message, function calls, with the ids it was answered with), usage, model, tools, format and sampling settings, and the status from how the exchange ended (`completed`, `incomplete`, `failed`, `cancelled`). `instructions` and `previous_response_id` are null (the exchange keeps them as part of its conversation). A response is found once its exchange is stored, at its end. Unknown → 404.',
  })
  @ApiOkResponse({ type: ResponseObjectDto })
  @ApiOpenAiErrors(400, 401, 404, 429)
  retrieve(@Param() params: ResponseIdParamDto, @Query() _query: RetrieveResponseQueryDto): Promise<Record<string, unknown>> {
    return this.responses.retrieve(params.id);
  }

  @Delete(':id')
  @ApiOperation({
    summary: 'Delete a stored response',
    description: 'Deletes the stored exchange of the response — from the history and search too; it can no longer be retrieved or continued. Unknown → 404.',
  })
  @ApiOkResponse({ type: DeletedResponseDto })
  @ApiOpenAiErrors(400, 401, 404, 429)
  delete(@Param() params: ResponseIdParamDto): Promise<DeletedResponseDto> {
    return this.responses.delete(params.id);
  }

  /**
   * The headers go out with the first event, so a failure before any token (unknown model,
   * backend down, first-token timeout) keeps its HTTP status.
   */
  private streamTo(reply: FastifyReply, prepared: PreparedResponse, client: CancelSignal): Promise<void> {
    const events = new ResponseEvents(prepared.settings);
    const send = async (sse: SseWriter, batch: ResponseEvent[]) => {
      for (const event of batch) await sse.event(event.type, event);
    };
    return streamSse({
      reply,
      client,
      shutdown: this.shutdown,
      heartbeatMs: this.config.chat.heartbeatMs,
      events: (signal) => this.responses.run(prepared, signal),
      start: (sse) => send(sse, events.start()),
      write: (sse, event) => {
        if (event.type === 'token') return send(sse, events.token(event.text));
        if (event.type === 'thinking') return send(sse, events.thinking(event.text));
        if (event.type === 'tool_call') return send(sse, events.toolCall(event.call));
        return send(sse, events.finish(event.result));
      },
      fail: (sse, failure) => send(sse, events.fail(openAiErrorBody(failure, describeError(failure).body).error)),
    });
  }
}
