import type { OutputFormat, ThinkSetting, ToolCall, ToolChoice, ToolDefinition } from '../../core/llm/llm-backend';

/**
 * OpenAI's Response object, built from what Vega knows of a response: while it runs (the
 * request and the answer so far), or later from the stored exchange (`GET /v1/responses/{id}`).
 * Item ids derive from the response id (`msg_<hex>`, `rs_<hex>`, `fc_<hex>_<n>`), so the stored
 * response is retrieved with the ids it was answered with.
 */

export type ResponseStatus = 'in_progress' | 'completed' | 'incomplete' | 'failed' | 'cancelled';

export interface ReasoningItem {
  type: 'reasoning';
  id: string;
  summary: { type: 'summary_text'; text: string }[];
}

export interface OutputTextPart {
  type: 'output_text';
  text: string;
  annotations: never[];
  logprobs: never[];
}

export interface MessageItem {
  type: 'message';
  id: string;
  status: 'in_progress' | 'completed' | 'incomplete';
  role: 'assistant';
  content: OutputTextPart[];
}

export interface FunctionCallItem {
  type: 'function_call';
  id: string;
  call_id: string;
  name: string;
  arguments: string;
  status: 'in_progress' | 'completed';
}

export type OutputItem = ReasoningItem | MessageItem | FunctionCallItem;

export interface ResponseUsage {
  input_tokens: number;
  input_tokens_details: { cached_tokens: number };
  output_tokens: number;
  output_tokens_details: { reasoning_tokens: number };
  total_tokens: number;
}

/** What a response echoes of its request: known before the model answers, and rebuilt from a stored exchange. */
export interface ResponseSettings {
  id: string;
  /** Unix seconds. */
  createdAt: number;
  model: string;
  instructions: string | null;
  previousResponseId: string | null;
  tools: ToolDefinition[];
  toolChoice: ToolChoice | undefined;
  parallelToolCalls: boolean;
  format: OutputFormat | undefined;
  think: ThinkSetting | undefined;
  options: Record<string, unknown>;
}

/** How a response ended (or that it has not yet). */
export interface ResponseOutcome {
  status: ResponseStatus;
  output: OutputItem[];
  usage: ResponseUsage | null;
  error?: { code: string; message: string };
  /** Unix seconds. */
  completedAt?: number;
}

/** The hex of a `resp_<hex>` id: what its item ids are made of. */
const idHex = (responseId: string) => responseId.slice('resp_'.length);

/** The n-th item of its kind: the first has the bare id (a whole answer has one reasoning and one message). */
const nth = (prefix: string, responseId: string, n: number) => `${prefix}_${idHex(responseId)}${n === 0 ? '' : `_${n}`}`;

export const reasoningId = (responseId: string, n = 0) => nth('rs', responseId, n);
export const messageId = (responseId: string, n = 0) => nth('msg', responseId, n);
export const functionCallId = (responseId: string, n: number) => `fc_${idHex(responseId)}_${n}`;

export const outputTextPart = (text: string): OutputTextPart => ({ type: 'output_text', text, annotations: [], logprobs: [] });

export function reasoningItem(responseId: string, text: string, n = 0): ReasoningItem {
  return { type: 'reasoning', id: reasoningId(responseId, n), summary: text === '' ? [] : [{ type: 'summary_text', text }] };
}

export function messageItem(responseId: string, text: string | null, status: MessageItem['status'], n = 0): MessageItem {
  return { type: 'message', id: messageId(responseId, n), status, role: 'assistant', content: text === null ? [] : [outputTextPart(text)] };
}

export function functionCallItem(responseId: string, n: number, call: ToolCall, status: FunctionCallItem['status']): FunctionCallItem {
  return { type: 'function_call', id: functionCallId(responseId, n), call_id: call.id, name: call.name, arguments: status === 'completed' ? JSON.stringify(call.arguments) : '', status };
}

/**
 * A whole answer as output items: the reasoning (when the model thought), the message (when it
 * wrote text, or when it did nothing else: an empty answer is an empty message), the calls.
 */
export function outputOf(responseId: string, answer: { text: string; thinking: string; toolCalls: readonly ToolCall[] }, messageStatus: MessageItem['status'] = 'completed'): OutputItem[] {
  const output: OutputItem[] = [];
  if (answer.thinking) output.push(reasoningItem(responseId, answer.thinking));
  if (answer.text !== '' || answer.toolCalls.length === 0) output.push(messageItem(responseId, answer.text, messageStatus));
  answer.toolCalls.forEach((call, n) => output.push(functionCallItem(responseId, n, call, 'completed')));
  return output;
}

export function usageOf(promptTokens: number, completionTokens: number): ResponseUsage {
  return {
    input_tokens: promptTokens,
    input_tokens_details: { cached_tokens: 0 },
    output_tokens: completionTokens,
    // Ollama counts thinking in eval_count and does not say how much of it was thinking.
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: promptTokens + completionTokens,
  };
}

const number = (value: unknown): number | null => (typeof value === 'number' ? value : null);

function wireToolChoice(choice: ToolChoice | undefined): string | { type: 'function'; name: string } {
  if (choice === undefined) return 'auto';
  return typeof choice === 'string' ? choice : { type: 'function', name: choice.name };
}

function wireFormat(format: OutputFormat | undefined): Record<string, unknown> {
  if (format === undefined) return { type: 'text' };
  if (format === 'json') return { type: 'json_object' };
  return { type: 'json_schema', name: format.name ?? 'response', schema: format.schema, strict: format.strict === true };
}

/** Ollama's `think` back as an effort; `true` (no level) and absent say nothing of the effort. */
function wireEffort(think: ThinkSetting | undefined): string | null {
  if (think === false) return 'none';
  return typeof think === 'string' ? think : null;
}

/** The Response object: the request's settings, then how it went. */
export function responseObject(settings: ResponseSettings, outcome: ResponseOutcome): Record<string, unknown> {
  const incomplete = outcome.status === 'incomplete';
  return {
    id: settings.id,
    object: 'response',
    created_at: settings.createdAt,
    status: outcome.status,
    ...(outcome.completedAt !== undefined ? { completed_at: outcome.completedAt } : {}),
    error: outcome.error ?? null,
    incomplete_details: incomplete ? { reason: 'max_output_tokens' } : null,
    instructions: settings.instructions,
    max_output_tokens: number(settings.options.num_predict),
    model: settings.model,
    output: outcome.output,
    parallel_tool_calls: settings.parallelToolCalls,
    previous_response_id: settings.previousResponseId,
    reasoning: { effort: wireEffort(settings.think), summary: null },
    store: true,
    temperature: number(settings.options.temperature),
    text: { format: wireFormat(settings.format) },
    tool_choice: wireToolChoice(settings.toolChoice),
    tools: settings.tools.map((tool) => ({
      type: 'function',
      name: tool.name,
      description: tool.description ?? null,
      parameters: tool.parameters ?? null,
      strict: false,
    })),
    top_p: number(settings.options.top_p),
    truncation: 'disabled',
    usage: outcome.usage,
    user: null,
    metadata: {},
  };
}
