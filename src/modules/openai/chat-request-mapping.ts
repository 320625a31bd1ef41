import { InvalidInputError } from '../../common/errors/app-errors';
import type {
  ChatMessage,
  ImageInput,
  OutputFormat,
  ThinkSetting,
  ToolCall,
  ToolChoice,
  ToolDefinition,
} from '../../core/llm/llm-backend';
import type { ChatCompletionRequestDto, ReasoningEffort } from './dto/chat-completion-request.dto';
import { ChatCompletionMessageDto, contentText } from './dto/chat-message.dto';
import type { ResponseFormatDto } from './dto/chat-tools.dto';

/**
 * OpenAI's chat request as Vega's exchange model: the pure part of the mapping (images are
 * resolved by the caller, through `resolveImage`). Wire names stay here; what leaves is camelCase.
 */

/** Resolves one `image_url.url` (a data URL or an https URL) into bytes; `field` names it in errors. */
export type ImageSource = (url: string, field: string) => Promise<ImageInput>;

/** `reasoning_effort` as Ollama's `think` (the plan's table: none→false, minimal→low, xhigh/max→max). */
export function thinkFor(effort: ReasoningEffort): ThinkSetting {
  switch (effort) {
    case 'none':
      return false;
    case 'minimal':
      return 'low';
    case 'xhigh':
    case 'max':
      return 'max';
    default:
      return effort;
  }
}

/** `response_format` as Ollama's `format`: none for text, `json` for any object, else the schema. */
export function outputFormat(format: ResponseFormatDto | undefined): OutputFormat | undefined {
  if (!format || format.type === 'text') return undefined;
  const schema = format.json_schema?.schema;
  if (format.type === 'json_object' || !schema) return 'json';
  return { schema, name: format.json_schema!.name, ...(format.json_schema!.strict ? { strict: true } : {}) };
}

export function toolDefinitions(body: ChatCompletionRequestDto): ToolDefinition[] | undefined {
  if (!body.tools || body.tools.length === 0) return undefined;
  return body.tools.map(({ function: fn }) => ({
    name: fn.name,
    ...(fn.description !== undefined ? { description: fn.description } : {}),
    ...(fn.parameters !== undefined ? { parameters: fn.parameters } : {}),
  }));
}

export function toolChoiceOf(body: ChatCompletionRequestDto): ToolChoice | undefined {
  const choice = body.tool_choice;
  if (choice === undefined) return undefined;
  return typeof choice === 'string' ? choice : { name: choice.function.name };
}

/**
 * The messages as the backend takes them: `developer` becomes `system`, text parts are joined,
 * image parts become images, an assistant turn's calls get their arguments parsed and its
 * reasoning becomes `thinking`, and a tool result gets the name of the function whose call it
 * answers (Ollama wants `tool_name`; OpenAI clients send only the call id).
 */
export async function backendMessages(messages: ChatCompletionMessageDto[], resolveImage: ImageSource): Promise<ChatMessage[]> {
  const callNames = new Map<string, string>();
  // Every check first, then the images: nothing is fetched for a request that is refused anyway.
  const mapped = messages.map((message, index) => backendMessage(message, index, callNames));
  const images = messages.map((message, index) => imageParts(message, index));
  if (images.every((parts) => parts.length === 0)) return mapped;
  const resolved = await Promise.all(images.map((parts) => Promise.all(parts.map(({ url, field }) => resolveImage(url, field)))));
  return mapped.map((message, index) => (resolved[index].length > 0 ? { ...message, images: resolved[index] } : message));
}

function backendMessage(message: ChatCompletionMessageDto, index: number, callNames: Map<string, string>): ChatMessage {
  const content = contentText(message.content);
  switch (message.role) {
    case 'system':
    case 'developer':
      return { role: 'system', content };
    case 'user':
      return { role: 'user', content };
    case 'assistant': {
      const toolCalls = (message.tool_calls ?? []).map((call): ToolCall => {
        callNames.set(call.id, call.function.name);
        return { id: call.id, name: call.function.name, arguments: JSON.parse(call.function.arguments) as Record<string, unknown> };
      });
      const thinking = message.reasoning_content ?? message.reasoning;
      return { role: 'assistant', content, ...(thinking ? { thinking } : {}), ...(toolCalls.length > 0 ? { toolCalls } : {}) };
    }
    case 'tool': {
      const id = message.tool_call_id!;
      const name = callNames.get(id);
      if (name === undefined) {
        throw new InvalidInputError(`messages.${index}.tool_call_id "${id}" answers no tool call of an earlier assistant message`, {
          param: `messages.${index}.tool_call_id`,
        });
      }
      return { role: 'tool', content, toolCallId: id, toolName: name };
    }
  }
}

/** The image parts of a user message, each with the field that names it in errors. */
function imageParts(message: ChatCompletionMessageDto, index: number): { url: string; field: string }[] {
  if (message.role !== 'user' || !Array.isArray(message.content)) return [];
  return message.content.flatMap((part, at) =>
    part.type === 'image_url' ? [{ url: part.image_url.url, field: `messages.${index}.content.${at}.image_url.url` }] : [],
  );
}

/** The text of the last user message: what an exchange stores as its prompt. */
export function lastUserText(messages: ChatCompletionMessageDto[]): string {
  const last = messages.findLast((message) => message.role === 'user');
  return last ? contentText(last.content) : '';
}
