import { BackendError } from '../../../../common/errors/app-errors';
import { randomHex } from '../../../../common/ids/random-hex';
import type { BackendChunk, BackendUsage, TokenLogprob, TopLogprob, ToolCall } from '../../llm-backend';
import type { SseEvent } from '../../transport/sse';

/**
 * An OpenAI-compatible server's streamed answers (`chat.completion.chunk`, `text_completion`)
 * as backend chunks.
 */

export const SERVER = 'the OpenAI-compatible server';
export const SERVER_CAPITAL = 'The OpenAI-compatible server';

interface WireLogprob {
  token?: unknown;
  logprob?: unknown;
  bytes?: unknown;
  top_logprobs?: unknown;
}

interface ToolCallFragment {
  index?: number;
  id?: string;
  function?: { name?: string; arguments?: unknown };
}

interface Choice {
  delta?: {
    content?: string | null;
    reasoning?: string | null;
    reasoning_content?: string | null;
    tool_calls?: ToolCallFragment[] | null;
  };
  /** `/completions` */
  text?: string | null;
  logprobs?: unknown;
  finish_reason?: string | null;
}

interface StreamChunk {
  choices?: Choice[] | null;
  usage?: { prompt_tokens?: number; completion_tokens?: number } | null;
  error?: unknown;
}

/** A tool call as its fragments came in so far. */
interface PartialCall {
  id?: string;
  name: string;
  arguments: string;
}

/**
 * Turns the SSE events of one network read into backend chunks: consecutive text of one kind
 * (answer or reasoning) joined into one chunk, tool calls whole, then the final chunk. The
 * answer is complete at `[DONE]`, or once both the `finish_reason` and the usage have come
 * (llama.cpp sends them in one chunk), or at the end of the body after a `finish_reason`
 * (servers that send no `[DONE]`); usage the server never sent counts as 0.
 *
 * Tool calls come as fragments keyed by `index` (the first with the id and name, the rest
 * pieces of the JSON arguments); each is handed on once whole — when the `finish_reason`
 * comes, at `[DONE]`, or at the end of the body.
 */
export class ChatEventReader {
  sawDone = false;
  private finishReason?: string;
  private usage?: BackendUsage;
  private readonly calls = new Map<number, PartialCall>();
  private batch: BackendChunk[] = [];

  /** What came before an error (a bad frame, a call with broken arguments) is handed on, then the error thrown. */
  *read(events: SseEvent[]): Generator<BackendChunk> {
    try {
      for (const event of events) this.readEvent(event);
    } finally {
      yield* this.flush();
    }
  }

  /** At the end of the body: calls still open are handed on; a finished answer without `[DONE]` is complete. */
  *finish(): Generator<BackendChunk> {
    try {
      if (!this.sawDone) {
        this.takeCalls();
        if (this.finishReason !== undefined) this.complete();
      }
    } finally {
      yield* this.flush();
    }
  }

  private readEvent(event: SseEvent): void {
    if (this.sawDone) return;
    if (event.data === '[DONE]') return this.complete();
    const chunk = parse(event);
    if (event.event === 'error' || chunk.error !== undefined) {
      const { message } = errorOf(JSON.stringify(chunk));
      throw new BackendError(`${SERVER_CAPITAL} reported an error mid-stream: ${message ?? event.data.slice(0, 500)}`);
    }
    const choice = Array.isArray(chunk.choices) ? chunk.choices[0] : undefined;
    if (choice) this.readChoice(choice);
    if (typeof choice?.finish_reason === 'string') {
      this.finishReason = choice.finish_reason;
      this.takeCalls();
    }
    if (chunk.usage && typeof chunk.usage === 'object') {
      this.usage = { promptTokens: chunk.usage.prompt_tokens ?? 0, completionTokens: chunk.usage.completion_tokens ?? 0 };
    }
    if (this.finishReason !== undefined && this.usage !== undefined) this.complete();
  }

  protected readChoice(choice: Choice): void {
    const delta = choice.delta;
    if (!delta) return;
    // Some vLLM versions send the same text under both names: one of them is read.
    const thinking = typeof delta.reasoning_content === 'string' ? delta.reasoning_content : delta.reasoning;
    if (typeof thinking === 'string' && thinking !== '') this.add({ type: 'thinking', text: thinking });
    const logprobs = chatLogprobs(choice.logprobs);
    if ((typeof delta.content === 'string' && delta.content !== '') || logprobs) {
      this.add({ type: 'token', text: delta.content ?? '', ...(logprobs ? { logprobs } : {}) });
    }
    if (Array.isArray(delta.tool_calls)) delta.tool_calls.forEach((fragment, position) => this.addFragment(fragment, position));
  }

  /** Appends to the batch, joining text onto the last chunk when it is of the same kind. */
  protected add(chunk: Extract<BackendChunk, { type: 'token' | 'thinking' }>): void {
    const last = this.batch[this.batch.length - 1];
    if (last?.type === 'thinking' && chunk.type === 'thinking') {
      last.text += chunk.text;
    } else if (last?.type === 'token' && chunk.type === 'token') {
      last.text += chunk.text;
      if (chunk.logprobs) last.logprobs = [...(last.logprobs ?? []), ...chunk.logprobs];
    } else {
      this.batch.push({ ...chunk });
    }
  }

  private addFragment(fragment: ToolCallFragment, position: number): void {
    const index = typeof fragment?.index === 'number' ? fragment.index : position;
    const call = this.calls.get(index) ?? { name: '', arguments: '' };
    if (typeof fragment?.id === 'string' && fragment.id !== '' && call.id === undefined) call.id = fragment.id;
    const name = fragment?.function?.name;
    if (typeof name === 'string' && call.name === '') call.name = name;
    const args = fragment?.function?.arguments;
    // Some servers send the arguments as an object rather than as JSON text.
    if (typeof args === 'string') call.arguments += args;
    else if (args && typeof args === 'object') call.arguments += JSON.stringify(args);
    this.calls.set(index, call);
  }

  /** Moves the open tool calls, whole, into the batch in `index` order. */
  private takeCalls(): void {
    const indexes = [...this.calls.keys()].sort((a, b) => a - b);
    for (const index of indexes) this.batch.push({ type: 'tool_call', call: toolCall(this.calls.get(index)!, index) });
    this.calls.clear();
  }

  private complete(): void {
    this.takeCalls();
    this.sawDone = true;
    this.batch.push({ type: 'done', usage: this.usage ?? { promptTokens: 0, completionTokens: 0 }, doneReason: this.finishReason });
  }

  private *flush(): Generator<BackendChunk> {
    const batch = this.batch;
    this.batch = [];
    yield* batch;
  }
}

/** The same for `/completions`: `choices[0].text`, and logprobs in the legacy shape (`tokens`, `token_logprobs`, `top_logprobs`). */
export class CompletionEventReader extends ChatEventReader {
  protected override readChoice(choice: Choice): void {
    const logprobs = legacyLogprobs(choice.logprobs);
    if ((typeof choice.text === 'string' && choice.text !== '') || logprobs) {
      this.add({ type: 'token', text: choice.text ?? '', ...(logprobs ? { logprobs } : {}) });
    }
  }
}

/** A whole call: arguments parsed to an object; a server that sent no id gets one made up, as Ollama does. */
function toolCall(partial: PartialCall, index: number): ToolCall {
  const id = partial.id ?? `call_${randomHex(4)}`;
  if (partial.name === '') throw new BackendError(`${SERVER_CAPITAL} sent tool call ${partial.id ?? `#${index}`} without a function name`);
  const text = partial.arguments.trim();
  let parsed: unknown = {};
  try {
    if (text !== '') parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new BackendError(
      `${SERVER_CAPITAL} sent tool call ${id} (${partial.name}) with arguments that are not a JSON object: ${text.slice(0, 200)}`,
    );
  }
  return { id, name: partial.name, arguments: parsed as Record<string, unknown> };
}

/** `choices[].logprobs.content` of a chat chunk. */
function chatLogprobs(value: unknown): TokenLogprob[] | undefined {
  const content = (value as { content?: unknown } | null)?.content;
  if (!Array.isArray(content) || content.length === 0) return undefined;
  return content.map((entry: WireLogprob) => {
    const top = Array.isArray(entry?.top_logprobs) ? (entry.top_logprobs as WireLogprob[]).map(topLogprob) : undefined;
    return { ...topLogprob(entry), ...(top ? { topLogprobs: top } : {}) };
  });
}

function topLogprob(entry: WireLogprob): TopLogprob {
  const out: TopLogprob = { token: String(entry?.token ?? ''), logprob: typeof entry?.logprob === 'number' ? entry.logprob : -Infinity };
  if (Array.isArray(entry?.bytes) || entry?.bytes === null) out.bytes = entry.bytes as number[] | null;
  return out;
}

/** The legacy `/completions` shape: parallel arrays, alternatives as `{token: logprob}` maps. */
function legacyLogprobs(value: unknown): TokenLogprob[] | undefined {
  const legacy = value as { tokens?: unknown; token_logprobs?: unknown; top_logprobs?: unknown } | null;
  if (!legacy || !Array.isArray(legacy.tokens) || legacy.tokens.length === 0) return undefined;
  const logprobs = Array.isArray(legacy.token_logprobs) ? legacy.token_logprobs : [];
  const tops = Array.isArray(legacy.top_logprobs) ? legacy.top_logprobs : [];
  return legacy.tokens.map((token: unknown, index) => {
    const top = tops[index] as Record<string, unknown> | null | undefined;
    const entry: TokenLogprob = { token: String(token), logprob: typeof logprobs[index] === 'number' ? (logprobs[index] as number) : -Infinity };
    if (top && typeof top === 'object') {
      entry.topLogprobs = Object.entries(top).map(([alternative, logprob]) => ({ token: alternative, logprob: Number(logprob) }));
    }
    return entry;
  });
}

/**
 * The message and code of an error body: OpenAI's `{"error": {"message", "type", "code"}}`,
 * a plain `{"error": "…"}`, or vLLM's older top-level `{"object": "error", "message", "code"}`.
 */
export function errorOf(text: string): { message?: string; code?: string } {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return {};
  }
  if (!body || typeof body !== 'object') return {};
  const { error, message, code } = body as { error?: unknown; message?: unknown; code?: unknown };
  if (typeof error === 'string') return { message: error };
  if (error && typeof error === 'object') {
    const inner = error as { message?: unknown; code?: unknown; type?: unknown };
    return {
      message: typeof inner.message === 'string' ? inner.message : JSON.stringify(error).slice(0, 500),
      code: typeof inner.code === 'string' ? inner.code : typeof inner.type === 'string' ? inner.type : undefined,
    };
  }
  if (typeof message === 'string') return { message, code: typeof code === 'string' ? code : undefined };
  return {};
}

function parse(event: SseEvent): StreamChunk {
  try {
    const value = JSON.parse(event.data) as unknown;
    if (value && typeof value === 'object') return value as StreamChunk;
  } catch {
    if (event.event === 'error') return { error: event.data };
  }
  throw new BackendError(`Malformed event from ${SERVER}: ${event.data.slice(0, 120)}`);
}
