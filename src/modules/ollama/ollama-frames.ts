import type { BackendTimings, BackendUsage, TokenLogprob, ToolCall } from '../../core/llm/llm-backend';

/**
 * The lines of Ollama's `/api/chat` and `/api/generate` answers, field for field in the order
 * Ollama writes them (Go's encoding/json follows the struct: model, created_at, message or
 * response, done, done_reason, context, the metrics, logprobs). Durations are nanoseconds and,
 * like every metric, left out when zero (`omitempty`).
 */

export interface OllamaWireLogprob {
  token: string;
  logprob: number;
  bytes?: number[] | null;
  top_logprobs?: { token: string; logprob: number; bytes?: number[] | null }[];
}

/** How the answer ended, with what the metrics are made of. */
export interface FinalFacts {
  doneReason: string;
  usage: BackendUsage;
  /** The backend's (Ollama's) own timings; else Vega's measurements below are used. */
  timings?: BackendTimings;
  /** Since the request arrived, and until the first piece of the answer (ms, performance.now()). */
  elapsedMs: number;
  firstPieceMs?: number;
  /** `/api/generate`: the token ids to continue from, when the backend gave them. */
  context?: number[];
}

/** What one finished answer holds (a `stream: false` reply). */
export interface WholeAnswer {
  text: string;
  thinking: string;
  toolCalls: ToolCall[];
  logprobs?: TokenLogprob[];
}

export const createdAt = (): string => new Date().toISOString();

export function chatTokenLine(model: string, text: string, logprobs?: TokenLogprob[]): Record<string, unknown> {
  return withLogprobs({ model, created_at: createdAt(), message: { role: 'assistant', content: text }, done: false }, logprobs);
}

export function chatThinkingLine(model: string, thinking: string): Record<string, unknown> {
  return { model, created_at: createdAt(), message: { role: 'assistant', content: '', thinking }, done: false };
}

/** Tool calls come whole, in one line, as Ollama sends them. */
export function chatToolCallsLine(model: string, calls: ToolCall[], firstIndex: number): Record<string, unknown> {
  return { model, created_at: createdAt(), message: { role: 'assistant', content: '', tool_calls: wireCalls(calls, firstIndex) }, done: false };
}

export function chatFinalLine(model: string, facts: FinalFacts, whole?: WholeAnswer): Record<string, unknown> {
  const message: Record<string, unknown> = { role: 'assistant', content: whole?.text ?? '' };
  if (whole?.thinking) message.thinking = whole.thinking;
  if (whole?.toolCalls.length) message.tool_calls = wireCalls(whole.toolCalls, 0);
  const line = { model, created_at: createdAt(), message, done: true, done_reason: facts.doneReason, ...metrics(facts) };
  return withLogprobs(line, whole?.logprobs);
}

export function generateTokenLine(model: string, text: string, logprobs?: TokenLogprob[]): Record<string, unknown> {
  return withLogprobs({ model, created_at: createdAt(), response: text, done: false }, logprobs);
}

export function generateThinkingLine(model: string, thinking: string): Record<string, unknown> {
  return { model, created_at: createdAt(), response: '', thinking, done: false };
}

export function generateFinalLine(model: string, facts: FinalFacts, whole?: WholeAnswer): Record<string, unknown> {
  const line: Record<string, unknown> = { model, created_at: createdAt(), response: whole?.text ?? '' };
  if (whole?.thinking) line.thinking = whole.thinking;
  line.done = true;
  line.done_reason = facts.doneReason;
  if (facts.context) line.context = facts.context;
  return withLogprobs({ ...line, ...metrics(facts) }, whole?.logprobs);
}

/** The one object Ollama answers a load (or unload) with: an empty chat or prompt, whatever `stream` says. */
export function loadedLine(model: string, route: 'chat' | 'generate', doneReason: string): Record<string, unknown> {
  const answer = route === 'chat' ? { message: { role: 'assistant', content: '' } } : { response: '' };
  return { model, created_at: createdAt(), ...answer, done_reason: doneReason, done: true };
}

function wireCalls(calls: ToolCall[], firstIndex: number): unknown[] {
  return calls.map((call, offset) => ({ id: call.id, function: { index: firstIndex + offset, name: call.name, arguments: call.arguments } }));
}

function withLogprobs(line: Record<string, unknown>, logprobs: TokenLogprob[] | undefined): Record<string, unknown> {
  if (!logprobs?.length) return line;
  line.logprobs = logprobs.map((entry): OllamaWireLogprob => {
    const wire: OllamaWireLogprob = { token: entry.token, logprob: entry.logprob };
    if (entry.bytes !== undefined) wire.bytes = entry.bytes;
    if (entry.topLogprobs) {
      wire.top_logprobs = entry.topLogprobs.map((top) => ({ token: top.token, logprob: top.logprob, ...(top.bytes !== undefined ? { bytes: top.bytes } : {}) }));
    }
    return wire;
  });
  return line;
}

const NS_PER_MS = 1_000_000;

/** Ollama's metrics: the backend's timings when it gave them, else Vega's own clock; zeros left out. */
function metrics(facts: FinalFacts): Record<string, number> {
  const t = facts.timings;
  const totalMs = facts.elapsedMs;
  const firstMs = facts.firstPieceMs ?? totalMs;
  const all: Record<string, number> = {
    total_duration: t?.totalNs ?? Math.round(totalMs * NS_PER_MS),
    load_duration: t?.loadNs ?? 0,
    prompt_eval_count: facts.usage.promptTokens,
    prompt_eval_duration: t?.promptEvalNs ?? (t ? 0 : Math.round(firstMs * NS_PER_MS)),
    eval_count: facts.usage.completionTokens,
    eval_duration: t?.evalNs ?? (t ? 0 : Math.round((totalMs - firstMs) * NS_PER_MS)),
  };
  for (const key of Object.keys(all)) if (!all[key]) delete all[key];
  return all;
}
