import { createHash } from 'node:crypto';
import type { ToolCall } from '../../core/llm/llm-backend';
import type { ChatEvent, ChatResult } from '../chat/chat.service';
import type { PreparedMessage } from './anthropic-messages.service';

/**
 * Anthropic's answer shapes: the message object of a non-streamed answer and the named SSE
 * events of a streamed one (docs.claude.com/en/docs/build-with-claude/streaming). The SDK
 * dispatches on the event name, so every frame is `event: <type>` + `data: {"type": <type>…}`.
 */

export type StopReason = 'end_turn' | 'max_tokens' | 'stop_sequence' | 'tool_use';

export type ContentBlock =
  | { type: 'text'; text: string }
  | { type: 'thinking'; thinking: string; signature: string }
  | { type: 'tool_use'; id: string; name: string; input: Record<string, unknown> };

export interface MessageObject {
  id: string;
  type: 'message';
  role: 'assistant';
  model: string;
  content: ContentBlock[];
  stop_reason: StopReason | null;
  stop_sequence: string | null;
  usage: { input_tokens: number; output_tokens: number };
}

/** An SSE event: its name and its data (whose `type` is the name). */
export interface MessageEvent {
  event: string;
  data: { type: string } & Record<string, unknown>;
}

/**
 * The `signature` Anthropic puts on a thinking block so it can check a replayed one. Vega signs
 * nothing: this is the SHA-256 of the thinking, base64 — a stable string clients can store and
 * send back, which Vega accepts without checking.
 */
export function thinkingSignature(thinking: string): string {
  return createHash('sha256').update(thinking).digest('base64');
}

export function stopReason(result: ChatResult): StopReason {
  if (result.stopSequence !== undefined) return 'stop_sequence';
  if (result.finishReason === 'tool_calls') return 'tool_use';
  return result.finishReason === 'length' ? 'max_tokens' : 'end_turn';
}

/** Input tokens as Ollama counted them, or the estimate when it did not (a generation Vega stopped, a cached answer). */
function usageOf(prepared: PreparedMessage, result: ChatResult): MessageObject['usage'] {
  return { input_tokens: result.usage.promptTokens || prepared.inputTokensEstimate, output_tokens: result.usage.completionTokens };
}

const toolUse = (call: ToolCall): ContentBlock => ({ type: 'tool_use', id: call.id, name: call.name, input: call.arguments });

/** The non-streamed answer: thinking, then text, then the tool calls. */
export function messageObject(prepared: PreparedMessage, result: ChatResult): MessageObject {
  const content: ContentBlock[] = [];
  if (result.thinking) content.push({ type: 'thinking', thinking: result.thinking, signature: thinkingSignature(result.thinking) });
  if (result.response || result.toolCalls.length === 0) content.push({ type: 'text', text: result.response });
  content.push(...result.toolCalls.map(toolUse));
  return {
    id: prepared.id,
    type: 'message',
    role: 'assistant',
    model: result.model,
    content,
    stop_reason: stopReason(result),
    stop_sequence: result.stopSequence ?? null,
    usage: usageOf(prepared, result),
  };
}

const event = (type: string, fields: Record<string, unknown> = {}): MessageEvent => ({ event: type, data: { type, ...fields } });

/**
 * The events of one streamed answer, in Anthropic's order: `message_start` and a `ping`, then
 * each content block — opened, its deltas, closed — strictly one after another (a change from
 * thinking to text closes the one and opens the other; each tool call is a block with its input
 * as one `input_json_delta`), then `message_delta` with the stop reason and usage, and
 * `message_stop`.
 */
export class MessageFrames {
  private index = -1;
  private open?: { kind: 'text' | 'thinking'; thinking: string };

  constructor(private readonly prepared: PreparedMessage) {}

  start(): MessageEvent[] {
    const message: MessageObject = {
      id: this.prepared.id,
      type: 'message',
      role: 'assistant',
      model: this.prepared.model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: { input_tokens: this.prepared.inputTokensEstimate, output_tokens: 0 },
    };
    return [event('message_start', { message }), event('ping')];
  }

  frames(chat: ChatEvent): MessageEvent[] {
    switch (chat.type) {
      case 'token':
        return [...this.openBlock('text'), event('content_block_delta', { index: this.index, delta: { type: 'text_delta', text: chat.text } })];
      case 'thinking':
        return [...this.openBlock('thinking'), ...this.thinkingDelta(chat.text)];
      case 'tool_call': {
        const frames = this.close();
        this.index += 1;
        const { id, name } = chat.call;
        return [
          ...frames,
          event('content_block_start', { index: this.index, content_block: { type: 'tool_use', id, name, input: {} } }),
          event('content_block_delta', { index: this.index, delta: { type: 'input_json_delta', partial_json: JSON.stringify(chat.call.arguments) } }),
          event('content_block_stop', { index: this.index }),
        ];
      }
      case 'done': {
        const { result } = chat;
        return [
          ...this.close(),
          event('message_delta', {
            delta: { stop_reason: stopReason(result), stop_sequence: result.stopSequence ?? null },
            usage: usageOf(this.prepared, result),
          }),
          event('message_stop'),
        ];
      }
    }
  }

  private thinkingDelta(text: string): MessageEvent[] {
    this.open!.thinking += text;
    return [event('content_block_delta', { index: this.index, delta: { type: 'thinking_delta', thinking: text } })];
  }

  private openBlock(kind: 'text' | 'thinking'): MessageEvent[] {
    if (this.open?.kind === kind) return [];
    const frames = this.close();
    this.index += 1;
    this.open = { kind, thinking: '' };
    const block = kind === 'text' ? { type: 'text', text: '' } : { type: 'thinking', thinking: '', signature: '' };
    return [...frames, event('content_block_start', { index: this.index, content_block: block })];
  }

  /** Closes the open text or thinking block; a thinking block gets its signature first, as Anthropic sends it. */
  private close(): MessageEvent[] {
    const open = this.open;
    if (!open) return [];
    this.open = undefined;
    const frames: MessageEvent[] = [];
    if (open.kind === 'thinking') {
      frames.push(event('content_block_delta', { index: this.index, delta: { type: 'signature_delta', signature: thinkingSignature(open.thinking) } }));
    }
    frames.push(event('content_block_stop', { index: this.index }));
    return frames;
  }
}
