import { Body, Controller, Get, HttpCode, Optional, Post, Query, Res } from '@nestjs/common';
import { CallerContext } from '../../common/auth/caller-context';
import { RequireScope } from '../../common/auth/scopes.decorator';
import { ApiBody, ApiBodyOptions, ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { AppConfig } from '../../config/app-config';
import { ApiErrors } from '../../common/errors/api-errors.decorator';
import { describeError } from '../../common/errors/all-exceptions.filter';
import { ClientClosedError } from '../../common/errors/app-errors';
import { firstOf } from '../../common/async/cancellation';
import { clientGone } from '../../common/http/client-gone';
import { ShutdownSignal } from '../../common/lifecycle/shutdown-signal';
import { SseWriter } from '../../common/streaming/sse-writer';
import { ChatInput, ChatResult, ChatService } from './chat.service';
import { thinkFromQuery, toOutputFormat } from './dto/chat-fields.validator';
import { ChatQueryDto, ChatRequestDto } from './dto/chat-request.dto';
import { ChatResponseDto } from './dto/chat-response.dto';
import { SseEventIds } from './sse-event-ids';

const RECONNECT_DESCRIPTION = 'The request carried the `Last-Event-ID` of a chat stream (an EventSource reconnecting after the stream ended): nothing was run.';

const SSE_DESCRIPTION = [
  'A `text/event-stream`: first the comment `: ok`, then one `event: token` per chunk with `data: {"text": "…"}`,',
  'then `event: done` with `data: {"conversation_id", "session_id", "model", "cached", "usage"}` and `"thinking"` when the model reasoned',
  '(`conversation_id` null and `conversation_pending: true` when the database was locked and the exchange is stored later).',
  'With `think`, the model\'s reasoning streams as `event: thinking` frames with `data: {"text": "…"}`, before (or between) the token frames.',
  'A failure after the stream started arrives as `event: error` with `data: {"message", "status"}`.',
  'A comment is sent after 15 s without data. If the client disconnects, the upstream generation is cancelled',
  'at once and the exchange is stored with status `aborted` and the partial answer.',
  'Every event has an `id:` (`<stream>:<seq>`, the final one `<stream>:<seq>:done` or `:error`); a request that',
  "carries one of them as `Last-Event-ID` (an EventSource reconnecting) gets 204 No Content, which stops it:",
  'the prompt is not run again.',
].join(' ');

/**
 * What Swagger UI's "Try it out" sends: a prompt alone, so a default install answers it with
 * MODEL_NAME in a new session (a sample built from the schema would fill in every field).
 */
const CHAT_BODY: ApiBodyOptions = {
  type: ChatRequestDto,
  examples: {
    question: { summary: 'A question, in a new session, to the default model', value: { prompt: 'Explain what a circuit breaker does in two sentences.' } },
  },
};

@ApiTags('chat')
@RequireScope('chat')
@Controller()
@ApiErrors(400, 401, 404, 413, 429, 502, 503, 504)
export class ChatController {
  constructor(
    private readonly chat: ChatService,
    private readonly config: AppConfig,
    @Optional() private readonly shutdown?: ShutdownSignal,
  ) {}

  @Post('chat')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Ask the model',
    description:
      'Sends the prompt with the session\'s recent exchanges as chat history, stores the exchange, and returns the answer. With `stream: true` the answer is the same SSE stream as POST /chat/sse.',
  })
  @ApiBody(CHAT_BODY)
  @ApiOkResponse({ type: ChatResponseDto, description: 'The answer (or, with `stream: true`, an SSE stream).' })
  @ApiProduces('application/json', 'text/event-stream')
  async postChat(@Body() body: ChatRequestDto, @Res() reply: FastifyReply): Promise<void> {
    if (body.stream) return this.streamTo(reply, toInput(body));
    const result = await this.chat.complete(toInput(body), clientGone(reply));
    await reply.status(200).send(toResponse(result));
  }

  @Post('chat/sse')
  @ApiOperation({ summary: 'Ask the model, streaming the answer as Server-Sent Events', description: SSE_DESCRIPTION })
  @ApiBody(CHAT_BODY)
  @ApiProduces('text/event-stream')
  @ApiOkResponse({ description: SSE_DESCRIPTION, schema: { type: 'string' } })
  @ApiNoContentResponse({ description: RECONNECT_DESCRIPTION })
  async postSse(@Body() body: ChatRequestDto, @Res() reply: FastifyReply): Promise<void> {
    return this.streamTo(reply, toInput(body));
  }

  @Get('chat/sse')
  @ApiOperation({
    summary: 'Ask the model, streaming as Server-Sent Events (query parameters)',
    description: `For clients that can only issue GET (EventSource still needs the key header). ${SSE_DESCRIPTION}`,
  })
  @ApiProduces('text/event-stream')
  @ApiOkResponse({ description: SSE_DESCRIPTION, schema: { type: 'string' } })
  @ApiNoContentResponse({ description: RECONNECT_DESCRIPTION })
  async getSse(@Query() query: ChatQueryDto, @Res() reply: FastifyReply): Promise<void> {
    return this.streamTo(reply, queryToInput(query));
  }

  /**
   * Everything that can be refused with a plain HTTP status (size, breaker) is checked before
   * the headers go out; after that, failures are reported in-stream as `event: error`.
   */
  private async streamTo(reply: FastifyReply, input: ChatInput): Promise<void> {
    // An EventSource reconnecting after the stream ended: 204 makes it stop (HTML standard).
    if (SseEventIds.isFromChatStream(reply.request.headers['last-event-id'])) return void (await reply.status(204).send());
    const prepared = await this.chat.prepare(input);
    const sse = new SseWriter(reply, this.config.chat.heartbeatMs);
    sse.open(reply.getHeaders() as Record<string, string>);
    const ids = new SseEventIds();
    // A shutdown ends the stream like a client that left (stored as aborted, upstream cancelled).
    const stop = this.shutdown ? firstOf([sse.signal, this.shutdown.signal]) : undefined;
    const stopQueueReports = CallerContext.onQueued((position) => sse.queued(position));
    try {
      for await (const event of this.chat.run(prepared, stop?.signal ?? sse.signal)) {
        if (event.type === 'token') await sse.event('token', { text: event.text }, ids.next());
        else if (event.type === 'thinking') await sse.event('thinking', { text: event.text }, ids.next());
        else if (event.type === 'done') await sse.event('done', toDoneEvent(event.result), ids.final('done'));
      }
    } catch (error) {
      if (this.shutdown?.active && !sse.signal.aborted) {
        await sse.event('error', { message: 'server shutting down', status: 503 }, ids.final('error'));
      } else if (!(error instanceof ClientClosedError)) {
        const { body: failure } = describeError(error);
        await sse.event('error', { message: failure.message, status: failure.statusCode }, ids.final('error'));
      }
    } finally {
      stopQueueReports();
      stop?.release();
      sse.end();
    }
  }
}

function toInput(body: ChatRequestDto): ChatInput {
  return {
    prompt: body.prompt,
    sessionId: body.session_id,
    model: body.model,
    options: body.options,
    images: body.images?.map((source, index) => ({ source, field: `images.${index}` })),
    format: toOutputFormat(body.format),
    think: body.think,
    source: 'api',
  };
}

function queryToInput(query: ChatQueryDto): ChatInput {
  return {
    prompt: query.prompt,
    sessionId: query.session_id,
    model: query.model,
    format: query.format === 'json' ? 'json' : undefined,
    think: thinkFromQuery(query.think),
    source: 'api',
  };
}

function toDoneEvent(result: ChatResult) {
  return {
    conversation_id: result.conversationId,
    ...(result.conversationId === null ? { conversation_pending: true as const } : {}),
    session_id: result.sessionId,
    model: result.model,
    cached: result.cached,
    usage: { prompt_tokens: result.usage.promptTokens, completion_tokens: result.usage.completionTokens },
    ...(result.thinking ? { thinking: result.thinking } : {}),
  };
}

function toResponse(result: ChatResult): ChatResponseDto {
  return { response: result.response, ...toDoneEvent(result) };
}
