import type { ToolCall } from '../../core/llm/llm-backend';
import type { ChatResult } from '../chat/chat.service';
import {
  functionCallItem,
  MessageItem,
  messageItem,
  OutputItem,
  outputTextPart,
  ReasoningItem,
  reasoningItem,
  ResponseOutcome,
  responseObject,
  ResponseSettings,
  usageOf,
} from './response-object';

/** One event of a Responses stream: its `type` (also the SSE event name) and its payload, numbered. */
export interface ResponseEvent {
  type: string;
  sequence_number: number;
  [field: string]: unknown;
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

/** The reasoning or message item being written: its kind, its position in `output`, its text so far, its number among its kind. */
interface OpenItem {
  kind: 'reasoning' | 'message';
  index: number;
  text: string;
  n: number;
}

/**
 * The Responses API's events for one answer, in the order and shape the openai SDK's stream
 * accumulator checks: `response.created` first; each item announced (`output_item.added`,
 * appended at the next `output_index`) before its deltas, and done before the next one is
 * added; the terminal `response.completed` / `response.incomplete` carries the same items in
 * full. A model thinks, then writes, then calls, so an answer is usually one reasoning item,
 * one message and the calls; should it think or write again after moving on, that is a new
 * item (`rs_<hex>_1`…). A tool call, which Vega receives whole, is one added → arguments
 * delta → arguments done → done run of events.
 */
export class ResponseEvents {
  private sequence = 0;
  private readonly output: OutputItem[] = [];
  private open?: OpenItem;
  private readonly counts = { reasoning: 0, message: 0, call: 0 };

  constructor(private readonly settings: ResponseSettings) {}

  start(): ResponseEvent[] {
    const response = this.response({ status: 'in_progress', output: [], usage: null });
    return [this.event('response.created', { response }), this.event('response.in_progress', { response })];
  }

  thinking(text: string): ResponseEvent[] {
    const events: ResponseEvent[] = [];
    const item = this.opened('reasoning', events);
    item.text += text;
    events.push(this.event('response.reasoning_summary_text.delta', { ...this.at(item.index), summary_index: 0, delta: text }));
    return events;
  }

  token(text: string): ResponseEvent[] {
    const events: ResponseEvent[] = [];
    const item = this.opened('message', events);
    item.text += text;
    events.push(this.event('response.output_text.delta', { ...this.at(item.index), content_index: 0, delta: text, logprobs: [] }));
    return events;
  }

  toolCall(call: ToolCall): ResponseEvent[] {
    const events: ResponseEvent[] = [];
    this.close(events, 'completed');
    const n = this.counts.call++;
    const index = this.add(functionCallItem(this.settings.id, n, call, 'in_progress'), events);
    const done = functionCallItem(this.settings.id, n, call, 'completed');
    events.push(
      this.event('response.function_call_arguments.delta', { ...this.at(index), delta: done.arguments }),
      this.event('response.function_call_arguments.done', { ...this.at(index), name: call.name, arguments: done.arguments }),
    );
    this.output[index] = done;
    events.push(this.event('response.output_item.done', { output_index: index, item: done }));
    return events;
  }

  /** Closes what is open, then the terminal event: `response.incomplete` when the answer hit its length limit. */
  finish(result: ChatResult): ResponseEvent[] {
    const events: ResponseEvent[] = [];
    // An answer with neither text nor calls is an empty message, as in a whole response.
    if (this.counts.message === 0 && this.counts.call === 0) this.opened('message', events);
    const status = result.finishReason === 'length' ? 'incomplete' : 'completed';
    this.close(events, status);
    const usage = usageOf(result.usage.promptTokens, result.usage.completionTokens);
    events.push(this.event(`response.${status}`, { response: this.response({ status, output: this.output, usage, completedAt: nowSeconds() }) }));
    return events;
  }

  /** A failure after the stream started: an `error` event, then `response.failed` with the output so far. */
  fail(error: { message: string; code: string | null; param: string | null }): ResponseEvent[] {
    const code = error.code ?? 'server_error';
    return [
      this.event('error', { code, message: error.message, param: error.param }),
      this.event('response.failed', { response: this.response({ status: 'failed', output: this.output, usage: null, error: { code, message: error.message } }) }),
    ];
  }

  private event(type: string, fields: Record<string, unknown>): ResponseEvent {
    return { type, sequence_number: this.sequence++, ...fields };
  }

  private response(outcome: ResponseOutcome): Record<string, unknown> {
    return responseObject(this.settings, outcome);
  }

  private at(index: number): { item_id: string; output_index: number } {
    return { item_id: this.output[index].id, output_index: index };
  }

  private add(item: OutputItem, events: ResponseEvent[]): number {
    const index = this.output.push(item) - 1;
    events.push(this.event('response.output_item.added', { output_index: index, item: structuredClone(item) }));
    return index;
  }

  /** The open item of this kind; another open item is closed first, and a new one announced with its part. */
  private opened(kind: OpenItem['kind'], events: ResponseEvent[]): OpenItem {
    if (this.open?.kind === kind) return this.open;
    this.close(events, 'completed');
    const n = this.counts[kind]++;
    const id = this.settings.id;
    const index = this.add(kind === 'reasoning' ? reasoningItem(id, '', n) : messageItem(id, null, 'in_progress', n), events);
    events.push(
      kind === 'reasoning'
        ? this.event('response.reasoning_summary_part.added', { ...this.at(index), summary_index: 0, part: { type: 'summary_text', text: '' } })
        : this.event('response.content_part.added', { ...this.at(index), content_index: 0, part: outputTextPart('') }),
    );
    this.open = { kind, index, text: '', n };
    return this.open;
  }

  private close(events: ResponseEvent[], messageStatus: MessageItem['status']): void {
    const open = this.open;
    if (!open) return;
    this.open = undefined;
    const { index, text, n } = open;
    if (open.kind === 'reasoning') {
      const part = { type: 'summary_text' as const, text };
      events.push(
        this.event('response.reasoning_summary_text.done', { ...this.at(index), summary_index: 0, text }),
        this.event('response.reasoning_summary_part.done', { ...this.at(index), summary_index: 0, part }),
      );
      // The part was announced: the finished item keeps it.
      const item: ReasoningItem = { ...reasoningItem(this.settings.id, text, n), summary: [part] };
      this.output[index] = item;
    } else {
      events.push(
        this.event('response.output_text.done', { ...this.at(index), content_index: 0, text, logprobs: [] }),
        this.event('response.content_part.done', { ...this.at(index), content_index: 0, part: outputTextPart(text) }),
      );
      this.output[index] = messageItem(this.settings.id, text, messageStatus, n);
    }
    events.push(this.event('response.output_item.done', { output_index: index, item: this.output[index] }));
  }
}
