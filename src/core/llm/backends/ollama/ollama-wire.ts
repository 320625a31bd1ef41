import { randomBytes } from 'node:crypto';
import { BackendError, InvalidInputError, UnsupportedFieldError } from '../../../../common/errors/app-errors';
import type {
  BackendChatRequest,
  BackendChunk,
  BackendCompletionRequest,
  BackendTimings,
  ChatMessage,
  OutputFormat,
  TokenLogprob,
  ToolCall,
  ToolDefinition,
} from '../../llm-backend';

/**
 * The exchange model on Ollama's own wire (`/api/chat`, `/api/generate`), both ways. Ollama has
 * no `tool_choice`: `none` leaves the tools out, `required` and a named tool constrain the answer
 * with `format` (a JSON Schema over the allowed tools) and turn the JSON into the tool call.
 */

interface OllamaToolCall {
  id?: string;
  function?: { index?: number; name?: string; arguments?: unknown };
}

interface OllamaLogprob {
  token?: string;
  logprob?: number;
  bytes?: number[] | null;
  top_logprobs?: { token?: string; logprob?: number; bytes?: number[] | null }[];
}

/** One NDJSON line of `/api/chat` (`message`) or `/api/generate` (`response`, `thinking`). */
export interface OllamaLine {
  message?: { content?: string; thinking?: string; tool_calls?: OllamaToolCall[] };
  response?: string;
  thinking?: string;
  logprobs?: OllamaLogprob[];
  done?: boolean;
  done_reason?: string;
  prompt_eval_count?: number;
  eval_count?: number;
  total_duration?: number;
  load_duration?: number;
  prompt_eval_duration?: number;
  eval_duration?: number;
  /** `/api/generate`'s final line (not in raw mode): the conversation as token ids. */
  context?: number[];
  error?: string;
}

/** The tools a forced `tool_choice` lets the model pick from; the answer is one JSON object naming one. */
export interface ForcedToolChoice {
  names: ReadonlySet<string>;
}

export interface OllamaChatBody {
  body: Record<string, unknown>;
  forced?: ForcedToolChoice;
}

/** The `/api/chat` body for a request; throws for a `tool_choice` Ollama cannot be made to honour. */
export function ollamaChatBody(chat: BackendChatRequest): OllamaChatBody {
  const tools = chat.toolChoice === 'none' ? [] : (chat.tools ?? []);
  const forced = forcedTools(chat, tools);
  const format = forced ? { anyOf: forced.map(toolCallSchema) } : wireFormat(chat.format);
  const body: Record<string, unknown> = {
    model: chat.model,
    messages: chat.messages.map(wireMessage),
    stream: true,
    options: chat.options,
  };
  if (tools.length > 0) body.tools = tools.map(wireTool);
  if (format !== undefined) body.format = format;
  addCommon(body, chat);
  return { body, ...(forced ? { forced: { names: new Set(forced.map((tool) => tool.name)) } } : {}) };
}

/** The `/api/generate` body for a raw completion. */
export function ollamaGenerateBody(request: BackendCompletionRequest): Record<string, unknown> {
  const body: Record<string, unknown> = { model: request.model, prompt: request.prompt, stream: true, options: request.options };
  if (request.suffix !== undefined) body.suffix = request.suffix;
  if (request.system !== undefined) body.system = request.system;
  if (request.template !== undefined) body.template = request.template;
  if (request.raw !== undefined) body.raw = request.raw;
  if (request.context !== undefined) body.context = request.context;
  if (request.images?.length) body.images = request.images.map((image) => image.data);
  const format = wireFormat(request.format);
  if (format !== undefined) body.format = format;
  addCommon(body, request);
  return body;
}

function addCommon(body: Record<string, unknown>, request: BackendChatRequest | BackendCompletionRequest): void {
  if (request.think !== undefined) body.think = request.think;
  if (request.keepAlive !== undefined) body.keep_alive = request.keepAlive;
  if (request.logprobs !== undefined) body.logprobs = request.logprobs;
  if (request.topLogprobs !== undefined) body.top_logprobs = request.topLogprobs;
}

/** The tools a `required` or named `tool_choice` allows, or undefined when the model is free to choose. */
function forcedTools(chat: BackendChatRequest, tools: ToolDefinition[]): ToolDefinition[] | undefined {
  const choice = chat.toolChoice;
  if (choice === undefined || choice === 'auto' || choice === 'none') return undefined;
  if (tools.length === 0) throw new InvalidInputError('tool_choice demands a tool call, but no tools were given', { param: 'tool_choice' });
  if (chat.format !== undefined) {
    throw new UnsupportedFieldError(
      'tool_choice',
      'Ollama has no tool_choice; Vega forces a tool call by constraining the answer with a JSON format, which cannot be combined with a format or response_format of your own',
    );
  }
  if (choice === 'required') return tools;
  const named = tools.filter((tool) => tool.name === choice.name);
  if (named.length === 0) throw new InvalidInputError(`tool_choice names "${choice.name}", which is not one of the tools`, { param: 'tool_choice' });
  return named;
}

const NO_PARAMETERS = { type: 'object', properties: {} };

/** `{name, arguments}` for one tool: the shape a forced answer must have. */
function toolCallSchema(tool: ToolDefinition): Record<string, unknown> {
  return {
    type: 'object',
    properties: { name: { const: tool.name }, arguments: tool.parameters ?? NO_PARAMETERS },
    required: ['name', 'arguments'],
  };
}

function wireFormat(format: OutputFormat | undefined): unknown {
  if (format === undefined) return undefined;
  return format === 'json' ? 'json' : format.schema;
}

function wireTool(tool: ToolDefinition): Record<string, unknown> {
  const fn: Record<string, unknown> = { name: tool.name };
  if (tool.description !== undefined) fn.description = tool.description;
  fn.parameters = tool.parameters ?? NO_PARAMETERS;
  return { type: 'function', function: fn };
}

function wireMessage(message: ChatMessage): Record<string, unknown> {
  const wire: Record<string, unknown> = { role: message.role, content: message.content };
  if (message.thinking) wire.thinking = message.thinking;
  if (message.images?.length) wire.images = message.images.map((image) => image.data);
  if (message.toolCalls?.length) {
    wire.tool_calls = message.toolCalls.map((call, index) => ({ id: call.id, function: { index, name: call.name, arguments: call.arguments } }));
  }
  if (message.toolName !== undefined) wire.tool_name = message.toolName;
  if (message.toolCallId !== undefined) wire.tool_call_id = message.toolCallId;
  return wire;
}

/** `call_` and 8 random `[a-z0-9]`, as Ollama names the calls it parses. */
export function newToolCallId(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  return `call_${Array.from(randomBytes(8), (byte) => alphabet[byte % alphabet.length]).join('')}`;
}

export interface LineReaderOptions {
  forced?: ForcedToolChoice;
  /** false: only the first tool call is kept. */
  parallelToolCalls?: boolean;
}

/**
 * Turns the lines of one network chunk into backend chunks. Text (and thinking) of lines that
 * arrived together is handed on as one chunk: the consumer would have received them at the same
 * moment anyway, and every hand-on costs a trip through each async generator up to the client.
 * Text that came before an `{"error"}` line is still handed on before the error is raised.
 */
export class OllamaLineReader {
  sawDone = false;
  private text = '';
  private logprobs: TokenLogprob[] | undefined;
  private thinking = '';
  private calls = 0;
  /** A forced tool call's JSON, collected until the end. */
  private forcedJson = '';

  constructor(private readonly options: LineReaderOptions = {}) {}

  *read(values: unknown[]): Generator<BackendChunk> {
    for (const value of values) {
      const line = value as OllamaLine;
      if (typeof line.error === 'string') {
        yield* this.flush();
        throw new BackendError(`Ollama error: ${line.error}`, { backendMessage: line.error });
      }
      const message = line.message;
      const thinking = message ? message.thinking : line.thinking;
      if (thinking) {
        if (this.text) yield* this.flush();
        this.thinking += thinking;
      }
      const content = message ? message.content : line.response;
      if (content) {
        if (this.options.forced) this.forcedJson += content;
        else {
          if (this.thinking) yield* this.flush();
          this.text += content;
          if (line.logprobs) (this.logprobs ??= []).push(...line.logprobs.map(tokenLogprob));
        }
      }
      if (message?.tool_calls?.length) {
        yield* this.flush();
        for (const call of message.tool_calls) {
          const chunk = this.toolCall(call);
          if (chunk) yield chunk;
        }
      }
      if (line.done && !this.sawDone) {
        this.sawDone = true;
        yield* this.flush();
        if (this.options.forced && this.calls === 0) yield this.forcedCall(line.done_reason);
        yield {
          type: 'done',
          usage: { promptTokens: line.prompt_eval_count ?? 0, completionTokens: line.eval_count ?? 0 },
          doneReason: line.done_reason,
          ...timingsOf(line),
          ...(Array.isArray(line.context) ? { context: line.context } : {}),
        };
      }
    }
    yield* this.flush();
  }

  private *flush(): Generator<BackendChunk> {
    if (this.thinking) {
      yield { type: 'thinking', text: this.thinking };
      this.thinking = '';
    }
    if (this.text) {
      yield this.logprobs ? { type: 'token', text: this.text, logprobs: this.logprobs } : { type: 'token', text: this.text };
      this.text = '';
      this.logprobs = undefined;
    }
  }

  private toolCall(call: OllamaToolCall): BackendChunk | undefined {
    if (this.options.parallelToolCalls === false && this.calls > 0) return undefined;
    const name = call.function?.name;
    if (!name) throw new BackendError('Ollama sent a tool call without a function name');
    this.calls += 1;
    return { type: 'tool_call', call: { id: call.id || newToolCallId(), name, arguments: argumentsOf(call.function?.arguments) } };
  }

  /** The forced answer, `{"name": …, "arguments": {…}}`, as the tool call it stands for. */
  private forcedCall(doneReason: string | undefined): BackendChunk {
    const names = this.options.forced!.names;
    let parsed: unknown;
    try {
      parsed = JSON.parse(this.forcedJson);
    } catch {
      const why = doneReason === 'length' ? 'it was cut off by the token limit' : 'it is not JSON';
      throw new BackendError(`The model's forced tool call could not be read: ${why}`);
    }
    const { name, arguments: args } = (parsed ?? {}) as { name?: unknown; arguments?: unknown };
    if (typeof name !== 'string' || !names.has(name) || typeof args !== 'object' || args === null || Array.isArray(args)) {
      throw new BackendError('The model answered tool_choice with JSON that is not a call of one of the allowed tools');
    }
    this.calls += 1;
    const call: ToolCall = { id: newToolCallId(), name, arguments: args as Record<string, unknown> };
    return { type: 'tool_call', call };
  }
}

/** Arguments are an object on Ollama's wire; a server that sends a JSON string gets it parsed. */
function argumentsOf(value: unknown): Record<string, unknown> {
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch {
      throw new BackendError('Ollama sent tool call arguments that are not JSON');
    }
  }
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw new BackendError('Ollama sent tool call arguments that are not an object');
  return value as Record<string, unknown>;
}

function tokenLogprob(entry: OllamaLogprob): TokenLogprob {
  const logprob: TokenLogprob = { token: entry.token ?? '', logprob: entry.logprob ?? 0 };
  if (entry.bytes !== undefined) logprob.bytes = entry.bytes;
  if (entry.top_logprobs) {
    logprob.topLogprobs = entry.top_logprobs.map((top) => ({
      token: top.token ?? '',
      logprob: top.logprob ?? 0,
      ...(top.bytes !== undefined ? { bytes: top.bytes } : {}),
    }));
  }
  return logprob;
}

function timingsOf(line: OllamaLine): { timings?: BackendTimings } {
  const timings: BackendTimings = {};
  if (line.total_duration !== undefined) timings.totalNs = line.total_duration;
  if (line.load_duration !== undefined) timings.loadNs = line.load_duration;
  if (line.prompt_eval_duration !== undefined) timings.promptEvalNs = line.prompt_eval_duration;
  if (line.eval_duration !== undefined) timings.evalNs = line.eval_duration;
  return Object.keys(timings).length > 0 ? { timings } : {};
}
