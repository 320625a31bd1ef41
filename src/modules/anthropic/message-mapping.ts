import { InvalidInputError } from '../../common/errors/app-errors';
import type { ChatMessage, ImageInput, ThinkSetting, ToolCall, ToolChoice, ToolDefinition } from '../../core/llm/llm-backend';
import type { CountMessageTokensRequestDto, ToolChoiceDto } from './dto/create-message-request.dto';

/**
 * Anthropic's Messages request as Vega's exchange model: the pure part of the mapping (images
 * are resolved by the caller, through `ImageSource`). Wire names stay here.
 */

/** Resolves an image source (a data URL or an http(s) URL) into bytes; `field` names it in errors. */
export type ImageSource = (source: string, field: string) => Promise<ImageInput>;

type Block = Record<string, unknown>;

/** The system prompt the client gave (text blocks joined with a newline), or undefined. */
export function systemText(system: CountMessageTokensRequestDto['system']): string | undefined {
  if (system === undefined) return undefined;
  return typeof system === 'string' ? system : system.map((block) => block.text).join('\n');
}

export function toolDefinitions(body: CountMessageTokensRequestDto): ToolDefinition[] | undefined {
  if (!body.tools || body.tools.length === 0) return undefined;
  return body.tools.map((tool) => ({
    name: tool.name,
    ...(tool.description !== undefined ? { description: tool.description } : {}),
    parameters: tool.input_schema,
  }));
}

/** `tool_choice` as the exchange model's: any → required, tool → the named one. */
export function toolChoiceOf(choice: ToolChoiceDto | undefined, tools: ToolDefinition[] | undefined): ToolChoice | undefined {
  if (!choice) return undefined;
  if (choice.type === 'tool') {
    if (!tools?.some((tool) => tool.name === choice.name)) {
      throw new InvalidInputError(`tool_choice.name "${choice.name}" is not one of the tools`, { param: 'tool_choice.name' });
    }
    return { name: choice.name! };
  }
  if (choice.type !== 'none' && !tools) {
    throw new InvalidInputError(`tool_choice.type ${choice.type} needs tools`, { param: 'tool_choice' });
  }
  return choice.type === 'any' ? 'required' : choice.type;
}

/** `thinking` as Ollama's `think`: enabled → true, disabled → false, adaptive → the model's default. */
export function thinkOf(thinking: CountMessageTokensRequestDto['thinking']): ThinkSetting | undefined {
  if (!thinking || thinking.type === 'adaptive') return undefined;
  return thinking.type === 'enabled';
}

/** The messages before their images are read, and the images each one carries (with the field that names them in errors). */
export interface MappedMessages {
  messages: ChatMessage[];
  images: { source: string; field: string }[][];
}

/**
 * The messages as the backend takes them, without image bytes yet (every check runs before any
 * image is fetched: `withImages` reads them). Text blocks are joined with a newline; an
 * assistant's `tool_use` blocks become its calls and its `thinking` blocks its thinking; a
 * user's `tool_result` blocks become `tool` messages (named after the call they answer), put
 * before the rest of that user message, as Ollama wants them right after the calls.
 */
export function mapMessages(body: CountMessageTokensRequestDto): MappedMessages {
  const callNames = new Map<string, string>();
  const mapped: MappedMessages = { messages: [], images: [] };
  const push = (message: ChatMessage, images: { source: string; field: string }[] = []) => {
    mapped.messages.push(message);
    mapped.images.push(images);
  };
  body.messages.forEach((message, index) => {
    const field = `messages.${index}.content`;
    if (typeof message.content === 'string') return push({ role: message.role, content: message.content });
    const blocks = message.content as Block[];
    if (message.role === 'assistant') return push(assistantMessage(blocks, callNames));
    blocks.forEach((block, at) => {
      if (block.type !== 'tool_result') return;
      const id = block.tool_use_id as string;
      const name = callNames.get(id);
      if (name === undefined) {
        throw new InvalidInputError(`${field}.${at}.tool_use_id "${id}" answers no tool_use block of an earlier assistant message`, {
          param: `${field}.${at}.tool_use_id`,
        });
      }
      const inner = typeof block.content === 'string' || block.content === undefined ? [] : (block.content as Block[]);
      const text = typeof block.content === 'string' ? block.content : joinText(inner);
      push(
        { role: 'tool', content: block.is_error === true ? `Error: ${text}` : text, toolCallId: id, toolName: name },
        imageSources(inner, `${field}.${at}.content`),
      );
    });
    const rest = blocks.filter((block) => block.type !== 'tool_result');
    // A message of tool results only has nothing else to say.
    if (rest.length > 0) push({ role: 'user', content: joinText(rest) }, imageSources(blocks, field));
  });
  return mapped;
}

/** The messages with their images read through `resolveImage`. */
export async function withImages(mapped: MappedMessages, resolveImage: ImageSource): Promise<ChatMessage[]> {
  return Promise.all(
    mapped.messages.map(async (message, index) => {
      const images = mapped.images[index];
      if (images.length === 0) return message;
      return { ...message, images: await Promise.all(images.map(({ source, field }) => resolveImage(source, field))) };
    }),
  );
}

function assistantMessage(blocks: Block[], callNames: Map<string, string>): ChatMessage {
  const toolCalls: ToolCall[] = [];
  const thinking: string[] = [];
  for (const block of blocks) {
    if (block.type === 'tool_use') {
      callNames.set(block.id as string, block.name as string);
      toolCalls.push({ id: block.id as string, name: block.name as string, arguments: block.input as Record<string, unknown> });
    } else if (block.type === 'thinking') {
      thinking.push(block.thinking as string);
    }
  }
  return {
    role: 'assistant',
    content: joinText(blocks),
    ...(thinking.length > 0 ? { thinking: thinking.join('\n') } : {}),
    ...(toolCalls.length > 0 ? { toolCalls } : {}),
  };
}

function joinText(blocks: Block[]): string {
  return blocks
    .filter((block) => block.type === 'text')
    .map((block) => block.text as string)
    .join('\n');
}

/** The image blocks among `blocks`, as sources the image resolver takes, each with its field. */
function imageSources(blocks: Block[], field: string): { source: string; field: string }[] {
  return blocks.flatMap((block, at) => {
    if (block.type !== 'image') return [];
    const source = block.source as Block;
    return source.type === 'url'
      ? [{ source: source.url as string, field: `${field}.${at}.source.url` }]
      : [{ source: `data:${String(source.media_type)};base64,${String(source.data)}`, field: `${field}.${at}.source.data` }];
  });
}

/** The text of the last user message that has any (tool results count): what an exchange stores as its prompt. */
export function promptText(messages: ChatMessage[]): string {
  for (let index = messages.length - 1; index >= 0; index -= 1) {
    const message = messages[index];
    if ((message.role === 'user' || message.role === 'tool') && message.content) return message.content;
  }
  return '';
}
