import { InvalidInputError, UnsupportedFieldError } from '../../common/errors/app-errors';
import type { ChatMessage, ToolCall } from '../../core/llm/llm-backend';
import type { ConversationExchange } from '../../core/persistence/conversation-history.repository';
import type { StoredMessage } from '../../core/persistence/stored-exchange';

/**
 * The Responses API's `input` (a string, or items: messages, replayed function calls, their
 * outputs, reasoning) as Vega's exchange model, and a stored response as the conversation that
 * `previous_response_id` continues. Pure: images are only located here (`ImageRef`), the caller
 * resolves them. Every refusal names the item's path (`input.2.call_id`) as OpenAI's `param`.
 */

/** An `input_image` to fetch or decode, and the message it belongs to. */
export interface ImageRef {
  /** Index into the mapped messages. */
  message: number;
  url: string;
  /** `input.0.content.1.image_url`, for errors. */
  field: string;
}

export interface MappedInput {
  messages: ChatMessage[];
  images: ImageRef[];
}

type Item = Record<string, unknown>;

const fail = (message: string, param: string): never => {
  throw new InvalidInputError(message, { param });
};

const isObject = (value: unknown): value is Item => value !== null && typeof value === 'object' && !Array.isArray(value);

const INPUT_ITEM_TYPES = 'message, function_call, function_call_output, reasoning';

/**
 * The input items after `history` (the continued response's conversation, whose calls the new
 * items may answer). A `function_call` joins the assistant message just before it (one turn that
 * called several functions); a `reasoning` item becomes the `thinking` of the next assistant turn.
 */
export function inputMessages(input: string | unknown[], history: readonly ChatMessage[]): MappedInput {
  if (typeof input === 'string') return { messages: [{ role: 'user', content: input }], images: [] };
  const callNames = new Map<string, string>();
  for (const message of history) for (const call of message.toolCalls ?? []) callNames.set(call.id, call.name);
  const messages: ChatMessage[] = [];
  const images: ImageRef[] = [];
  let thinking: string | undefined;
  let thinkingAt = '';
  // Reasoning belongs to the assistant turn right after it; anything else there would take it elsewhere or drop it.
  const unclaimed = () => fail(`${thinkingAt}: a reasoning item must come right before the assistant message or function_call it led to`, thinkingAt);
  const assistant = (content: string): ChatMessage => {
    const message: ChatMessage = { role: 'assistant', content, ...(thinking ? { thinking } : {}) };
    thinking = undefined;
    messages.push(message);
    return message;
  };
  input.forEach((item, index) => {
    const at = `input.${index}`;
    if (!isObject(item)) return fail(`${at} must be an object`, at);
    const type = item.type ?? 'message';
    const claims = (type === 'message' && item.role === 'assistant') || type === 'function_call' || type === 'reasoning';
    if (thinking !== undefined && !claims) unclaimed();
    switch (type) {
      case 'message': {
        const role = item.role;
        const { text, imageUrls } = messageContent(item.content, at, role === 'user');
        if (role === 'assistant') {
          assistant(text);
          return;
        }
        if (role !== 'user' && role !== 'system' && role !== 'developer') {
          return fail(`${at}.role must be one of user, assistant, system, developer`, `${at}.role`);
        }
        const position = messages.push({ role: role === 'user' ? 'user' : 'system', content: text }) - 1;
        for (const { url, field } of imageUrls) images.push({ message: position, url, field });
        return;
      }
      case 'function_call': {
        const call = functionCall(item, at);
        callNames.set(call.id, call.name);
        const last = messages.at(-1);
        const turn = last?.role === 'assistant' && thinking === undefined ? last : assistant('');
        turn.toolCalls = [...(turn.toolCalls ?? []), call];
        return;
      }
      case 'function_call_output': {
        const callId = nonEmptyString(item.call_id, `${at}.call_id`);
        const name = callNames.get(callId);
        if (name === undefined) {
          return fail(`${at}.call_id "${callId}" answers no function_call before it (in input or in the previous response)`, `${at}.call_id`);
        }
        messages.push({ role: 'tool', content: toolOutput(item.output, `${at}.output`), toolCallId: callId, toolName: name });
        return;
      }
      case 'reasoning':
        // Several in a row (a model that reasoned in steps) are one turn's thinking.
        thinking = thinking === undefined ? reasoningText(item, at) : `${thinking}\n${reasoningText(item, at)}`;
        thinkingAt = at;
        return;
      case 'item_reference':
        throw new UnsupportedFieldError(at, 'item_reference: Vega does not look items up by id; send the item itself, or continue a stored response with previous_response_id');
      default:
        return fail(`${at}.type ${JSON.stringify(type)} is not an input item type Vega takes (${INPUT_ITEM_TYPES})`, `${at}.type`);
    }
  });
  if (thinking !== undefined) unclaimed();
  return { messages, images };
}

function nonEmptyString(value: unknown, param: string): string {
  return typeof value === 'string' && value.length > 0 ? value : fail(`${param} must be a non-empty string`, param);
}

/** A message's text (its text parts joined) and, for a user message, its image URLs. */
function messageContent(content: unknown, at: string, user: boolean): { text: string; imageUrls: { url: string; field: string }[] } {
  if (typeof content === 'string') return { text: content, imageUrls: [] };
  if (!Array.isArray(content)) return fail(`${at}.content must be a string or an array of content parts`, `${at}.content`);
  const texts: string[] = [];
  const imageUrls: { url: string; field: string }[] = [];
  content.forEach((part, index) => {
    const where = `${at}.content.${index}`;
    if (!isObject(part)) return fail(`${where} must be an object`, where);
    switch (part.type) {
      case 'input_text':
      case 'output_text':
        texts.push(typeof part.text === 'string' ? part.text : fail(`${where}.text must be a string`, `${where}.text`));
        return;
      case 'refusal':
        texts.push(typeof part.refusal === 'string' ? part.refusal : fail(`${where}.refusal must be a string`, `${where}.refusal`));
        return;
      case 'input_image': {
        if (!user) return fail(`${where}: images are taken in user messages only`, `${where}.type`);
        if (part.file_id !== undefined && part.file_id !== null) {
          throw new UnsupportedFieldError(`${where}.file_id`, 'Vega has no file store: give image_url (a data URL or an https URL)');
        }
        const url = part.image_url;
        if (typeof url !== 'string' || url.length === 0) return fail(`${where}.image_url must be a data URL or an https URL`, `${where}.image_url`);
        imageUrls.push({ url, field: `${where}.image_url` });
        return;
      }
      case 'input_file':
      case 'input_audio':
        throw new UnsupportedFieldError(`${where}.type`, `${String(part.type)} parts have no equivalent in a chat with Ollama (text and images only)`);
      default:
        return fail(`${where}.type must be one of input_text, output_text, refusal, input_image`, `${where}.type`);
    }
  });
  return { text: texts.join('\n'), imageUrls };
}

/** A replayed `function_call`: its arguments must be a JSON object, as the model made them. */
function functionCall(item: Item, at: string): ToolCall {
  const id = nonEmptyString(item.call_id, `${at}.call_id`);
  const name = nonEmptyString(item.name, `${at}.name`);
  const text = typeof item.arguments === 'string' ? item.arguments : fail(`${at}.arguments must be a JSON string`, `${at}.arguments`);
  let args: unknown;
  try {
    args = JSON.parse(text);
  } catch {
    return fail(`${at}.arguments is not valid JSON`, `${at}.arguments`);
  }
  if (!isObject(args)) return fail(`${at}.arguments must be a JSON object`, `${at}.arguments`);
  return { id, name, arguments: args };
}

/** A tool's output: a string, or text parts joined (Ollama's tool messages carry text). */
function toolOutput(output: unknown, at: string): string {
  if (typeof output === 'string') return output;
  if (!Array.isArray(output)) return fail(`${at} must be a string or an array of input_text parts`, at);
  return output
    .map((part, index) =>
      isObject(part) && part.type === 'input_text' && typeof part.text === 'string'
        ? part.text
        : fail(`${at}.${index} must be an input_text part (images and files in tool output are not supported)`, `${at}.${index}`),
    )
    .join('\n');
}

/** A replayed reasoning item's text: its summary (or raw reasoning content) joined; `encrypted_content` is ignored. */
function reasoningText(item: Item, at: string): string {
  const parts = [...(Array.isArray(item.summary) ? item.summary : []), ...(Array.isArray(item.content) ? item.content : [])];
  return parts
    .map((part, index) => (isObject(part) && typeof part.text === 'string' ? part.text : fail(`${at}: summary and content parts need a text`, `${at}.summary.${index}`)))
    .join('\n');
}

/**
 * The conversation a stored response continues: what it was asked — without the system
 * messages that opened it (its `instructions` or Vega's system prompt; OpenAI does not carry
 * `instructions` over either) — then its answer, text, reasoning and calls. Images are sent
 * again only when their bytes were kept (STORE_IMAGES): never silently without them.
 */
export function continuedConversation(exchange: ConversationExchange, id: string): ChatMessage[] {
  const param = 'previous_response_id';
  if (exchange.status !== 'ok' && exchange.status !== 'cached') {
    return fail(`previous response '${id}' did not complete (it is stored as ${exchange.status}): it cannot be continued`, param);
  }
  const stored = exchange.request?.messages;
  if (!stored) return fail(`previous response '${id}' has no stored conversation to continue`, param);
  const first = stored.findIndex((message) => message.role !== 'system');
  const messages = (first === -1 ? [] : stored.slice(first)).map((message) => chatMessage(message, id));
  const answer = exchange.answer ?? {};
  messages.push({
    role: 'assistant',
    content: answer.text ?? exchange.response,
    ...(answer.thinking ? { thinking: answer.thinking } : {}),
    ...(answer.toolCalls?.length ? { toolCalls: answer.toolCalls } : {}),
  });
  return messages;
}

function chatMessage({ images, ...message }: StoredMessage, id: string): ChatMessage {
  if (!images?.length) return message;
  if (images.some((image) => image.data === undefined)) {
    return fail(
      `previous response '${id}' had images whose bytes Vega did not keep (STORE_IMAGES=false): send the conversation in full instead`,
      'previous_response_id',
    );
  }
  return { ...message, images: images.map((image) => ({ mime: image.mime, bytes: image.bytes, sha256: image.sha256, data: image.data! })) };
}
