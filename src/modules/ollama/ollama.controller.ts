import { Body, Controller, HttpCode, Optional, Post, Res } from '@nestjs/common';
import { RequireScope } from '../../common/auth/scopes.decorator';
import { ApiBody, ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { CancelSignal, firstOf } from '../../common/async/cancellation';
import { describeError } from '../../common/errors/all-exceptions.filter';
import { ClientClosedError } from '../../common/errors/app-errors';
import { ollamaErrorBody } from '../../common/errors/ollama-error';
import { clientGone } from '../../common/http/client-gone';
import { ShutdownSignal } from '../../common/lifecycle/shutdown-signal';
import { NdjsonWriter } from '../../common/streaming/ndjson-writer';
import type { ChatResult } from '../chat/chat.service';
import { ApiOllamaErrors } from './dto/ollama-error.dto';
import {
  chatFinalLine,
  chatThinkingLine,
  chatTokenLine,
  chatToolCallsLine,
  FinalFacts,
  generateFinalLine,
  generateThinkingLine,
  generateTokenLine,
  loadedLine,
} from './ollama-frames';
import { OllamaChatService, PreparedNativeChat } from './ollama-chat.service';
import { GenerateResult, OllamaGenerateService, PreparedGenerate } from './ollama-generate.service';

const STREAMING = [
  'Streams NDJSON (`application/x-ndjson`, one object a line) unless `stream: false`, which returns the one final object.',
  'The final line has `done: true`, `done_reason` and the metrics in nanoseconds (the backend\'s own when it is Ollama).',
  'An error before the first line is an ordinary status with `{"error": "…"}`; after it, a last `{"error": "…"}` line.',
  'A client that disconnects cancels the generation at once (the exchange is stored as `aborted`).',
  'The response cache is used only with `options.seed` set or `options.temperature` 0.',
].join(' ');

/** Ollama's native `POST /api/chat` and `POST /api/generate`, wire-exact, so Ollama's own clients work with Vega. */
@ApiTags('ollama')
@RequireScope('chat')
@Controller('api')
export class OllamaController {
  constructor(
    private readonly chats: OllamaChatService,
    private readonly generations: OllamaGenerateService,
    @Optional() private readonly shutdown?: ShutdownSignal,
  ) {}

  @Post('chat')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Chat (Ollama native API)',
    description: `Ollama's \`/api/chat\`: {model, messages[{role, content, images?, thinking?, tool_calls?, tool_name?, tool_call_id?}], tools?, format?, options?, stream?, keep_alive?, think?, logprobs?, top_logprobs?}. Stored with source \`ollama\` (kind chat). Empty \`messages\` loads the model (\`done_reason: "load"\`, or \`"unload"\` with \`keep_alive: 0\`) and stores nothing. ${STREAMING}`,
  })
  @ApiBody({ schema: { type: 'object', example: { model: 'mistral', messages: [{ role: 'user', content: 'Why is the sky blue?' }] } } })
  @ApiOkResponse({ description: 'NDJSON lines `{model, created_at, message, done}`, or with `stream: false` one JSON object.' })
  @ApiProduces('application/json', 'application/x-ndjson')
  @ApiOllamaErrors(400, 401, 404, 413, 429, 502, 503, 504)
  async chat(@Body() body: unknown, @Res() reply: FastifyReply): Promise<void> {
    const client = clientGone(reply);
    const prepared = await this.chats.prepare(body, client);
    await this.guarded(client, async (signal) => {
      if (prepared.load) {
        await reply.status(200).send(loadedLine(prepared.model, 'chat', await this.chats.load(prepared, signal)));
        return undefined;
      }
      if (!prepared.stream) {
        const result = await this.wholeChat(prepared, signal);
        await reply.status(200).send(chatFinalLine(result.model, chatFacts(result), wholeOf(result)));
        return undefined;
      }
      const ndjson = new NdjsonWriter(reply);
      await this.streamChat(ndjson, prepared, signal);
      return ndjson;
    });
  }

  @Post('generate')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Generate (Ollama native API)',
    description: `Ollama's \`/api/generate\`: {model, prompt, suffix?, system?, template?, raw?, context?, images?, format?, options?, stream?, keep_alive?, think?, logprobs?, top_logprobs?}. Stored with source \`ollama\` (kind completion). An empty prompt loads the model and stores nothing. ${STREAMING}`,
  })
  @ApiBody({ schema: { type: 'object', example: { model: 'mistral', prompt: 'Why is the sky blue?' } } })
  @ApiOkResponse({ description: 'NDJSON lines `{model, created_at, response, done}`, or with `stream: false` one JSON object.' })
  @ApiProduces('application/json', 'application/x-ndjson')
  @ApiOllamaErrors(400, 401, 404, 413, 429, 502, 503, 504)
  async generate(@Body() body: unknown, @Res() reply: FastifyReply): Promise<void> {
    const client = clientGone(reply);
    const prepared = await this.generations.prepare(body, client);
    await this.guarded(client, async (signal) => {
      if (prepared.load) {
        await reply.status(200).send(loadedLine(prepared.model, 'generate', await this.generations.load(prepared, signal)));
        return undefined;
      }
      if (!prepared.stream) {
        const result = await this.wholeGenerate(prepared, signal);
        await reply.status(200).send(generateFinalLine(result.model, generateFacts(result), { ...result, toolCalls: [] }));
        return undefined;
      }
      const ndjson = new NdjsonWriter(reply);
      await this.streamGenerate(ndjson, prepared, signal);
      return ndjson;
    });
  }

  /**
   * Runs `work` with the client's signal (and the shutdown's): an error before the stream's first
   * line is thrown (the filter answers it in Ollama's shape), one after it ends the stream with an
   * `{"error"}` line; a client that left gets nothing more.
   */
  private async guarded(client: CancelSignal, work: (signal: CancelSignal) => Promise<NdjsonWriter | undefined>): Promise<void> {
    const stop = this.shutdown ? firstOf([client, this.shutdown.signal]) : undefined;
    try {
      (await work(stop?.signal ?? client))?.end();
    } catch (error) {
      const writer = error instanceof StreamFailure ? error.ndjson : undefined;
      const cause = error instanceof StreamFailure ? error.cause : error;
      const failure = this.shutdown ? this.shutdown.failureOf(cause, client) : cause;
      if (!writer?.started) throw failure;
      if (!(failure instanceof ClientClosedError)) await writer.line(ollamaErrorBody(failure, describeError(failure).body));
      writer.end();
    } finally {
      stop?.release();
    }
  }

  private async wholeChat(prepared: PreparedNativeChat, signal: CancelSignal): Promise<TimedChat> {
    const started = performance.now();
    let firstPieceMs: number | undefined;
    for await (const event of this.chats.run(prepared, signal)) {
      if (event.type === 'done') return { ...event.result, elapsedMs: performance.now() - started, firstPieceMs };
      firstPieceMs ??= performance.now() - started;
    }
    throw new ClientClosedError();
  }

  private async streamChat(ndjson: NdjsonWriter, prepared: PreparedNativeChat, signal: CancelSignal): Promise<void> {
    const started = performance.now();
    let firstPieceMs: number | undefined;
    let calls = 0;
    try {
      for await (const event of this.chats.run(prepared, signal)) {
        if (event.type === 'done') {
          await ndjson.line(chatFinalLine(prepared.model, chatFacts({ ...event.result, elapsedMs: performance.now() - started, firstPieceMs })));
          return;
        }
        firstPieceMs ??= performance.now() - started;
        if (event.type === 'token') await ndjson.line(chatTokenLine(prepared.model, event.text, event.logprobs));
        else if (event.type === 'thinking') await ndjson.line(chatThinkingLine(prepared.model, event.text));
        else await ndjson.line(chatToolCallsLine(prepared.model, [event.call], calls++));
      }
    } catch (error) {
      throw new StreamFailure(error, ndjson);
    }
  }

  private async wholeGenerate(prepared: PreparedGenerate, signal: CancelSignal): Promise<TimedGenerate> {
    const started = performance.now();
    let firstPieceMs: number | undefined;
    for await (const event of this.generations.run(prepared, signal)) {
      if (event.type === 'done') return { ...event.result, elapsedMs: performance.now() - started, firstPieceMs };
      firstPieceMs ??= performance.now() - started;
    }
    throw new ClientClosedError();
  }

  private async streamGenerate(ndjson: NdjsonWriter, prepared: PreparedGenerate, signal: CancelSignal): Promise<void> {
    const started = performance.now();
    let firstPieceMs: number | undefined;
    try {
      for await (const event of this.generations.run(prepared, signal)) {
        if (event.type === 'done') {
          await ndjson.line(generateFinalLine(prepared.model, generateFacts({ ...event.result, elapsedMs: performance.now() - started, firstPieceMs })));
          return;
        }
        firstPieceMs ??= performance.now() - started;
        if (event.type === 'token') await ndjson.line(generateTokenLine(prepared.model, event.text, event.logprobs));
        else await ndjson.line(generateThinkingLine(prepared.model, event.text));
      }
    } catch (error) {
      throw new StreamFailure(error, ndjson);
    }
  }
}

/** A failure during a stream, with the writer that may already have sent its first line. */
class StreamFailure extends Error {
  constructor(
    override readonly cause: unknown,
    readonly ndjson: NdjsonWriter,
  ) {
    super('stream failed');
  }
}

type Timed = { elapsedMs: number; firstPieceMs?: number };
type TimedChat = ChatResult & Timed;
type TimedGenerate = GenerateResult & Timed;

/**
 * Ollama's `done_reason`: the backend's own when it gave one, else Vega's finish reason — `stop`
 * for an answer that called tools too, as Ollama reports it.
 */
function chatFacts(result: TimedChat): FinalFacts {
  const doneReason = result.finishReason === 'length' ? 'length' : (result.doneReason ?? 'stop');
  return { doneReason, usage: result.usage, timings: result.timings, elapsedMs: result.elapsedMs, firstPieceMs: result.firstPieceMs };
}

function generateFacts(result: TimedGenerate): FinalFacts {
  return {
    doneReason: result.doneReason,
    usage: result.usage,
    timings: result.timings,
    elapsedMs: result.elapsedMs,
    firstPieceMs: result.firstPieceMs,
    ...(result.context ? { context: result.context } : {}),
  };
}

function wholeOf(result: ChatResult): { text: string; thinking: string; toolCalls: ChatResult['toolCalls']; logprobs?: ChatResult['logprobs'] } {
  return { text: result.response, thinking: result.thinking, toolCalls: result.toolCalls, ...(result.logprobs ? { logprobs: result.logprobs } : {}) };
}
