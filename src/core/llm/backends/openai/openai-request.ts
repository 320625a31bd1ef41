import { UnsupportedFieldError } from '../../../../common/errors/app-errors';
import type {
  BackendChatRequest,
  BackendCompletionRequest,
  ChatMessage,
  OutputFormat,
  ThinkSetting,
  ToolChoice,
} from '../../llm-backend';

/**
 * The exchange model as an OpenAI-compatible server's request bodies (`/chat/completions`,
 * `/completions`). Pure functions: what each field becomes is tested without a server.
 */

/** Generation options that have the same name in Ollama and in the OpenAI API. */
const SAME_NAME = ['temperature', 'top_p', 'presence_penalty', 'frequency_penalty', 'seed', 'stop'] as const;
/**
 * Ollama options outside the OpenAI API that the local servers accept as extensions under
 * these names (llama.cpp server and LM Studio: `top_k`, `repeat_penalty`; vLLM: `top_k`).
 * Any other Ollama option (`num_ctx`, `mirostat`…) has no equivalent there: a request that sets
 * one is refused, naming it, rather than answered as if it had not been set.
 */
const EXTENSIONS = ['top_k', 'repeat_penalty'] as const;
const MAPPED: ReadonlySet<string> = new Set<string>([...SAME_NAME, ...EXTENSIONS, 'num_predict']);

/**
 * `think` as `reasoning_effort`. The OpenAI API has no "on" without a level, so `true` asks for
 * `medium` (its default); it has no level above `high`, so Ollama's `max` becomes `high`.
 */
const REASONING_EFFORT: Record<string, string> = { false: 'none', true: 'medium', low: 'low', medium: 'medium', high: 'high', max: 'high' };

/** The request fields for Vega's generation options (Ollama names): see SAME_NAME and EXTENSIONS. */
export function toOpenAiOptions(options: Record<string, unknown>): Record<string, unknown> {
  const unmapped = Object.keys(options).find((name) => !MAPPED.has(name) && options[name] !== undefined);
  if (unmapped !== undefined) {
    throw new UnsupportedFieldError(`options.${unmapped}`, `Ollama's ${unmapped} has no equivalent on an OpenAI-compatible server`);
  }
  const fields: Record<string, unknown> = {};
  for (const name of [...SAME_NAME, ...EXTENSIONS]) if (options[name] !== undefined) fields[name] = options[name];
  if (typeof options.num_predict === 'number' && options.num_predict > 0) fields.max_tokens = options.num_predict;
  return fields;
}

export function reasoningEffort(think: ThinkSetting): string {
  return REASONING_EFFORT[String(think)];
}

/** The body of a streamed `POST /chat/completions`. */
export function chatCompletionBody(chat: BackendChatRequest): Record<string, unknown> {
  const body: Record<string, unknown> = {
    model: chat.model,
    messages: toOpenAiMessages(chat.messages),
    ...toOpenAiOptions(chat.options),
  };
  if (chat.tools && chat.tools.length > 0) {
    body.tools = chat.tools.map((tool) => ({
      type: 'function',
      function: { name: tool.name, description: tool.description, parameters: tool.parameters },
    }));
  }
  if (chat.toolChoice !== undefined) body.tool_choice = toolChoice(chat.toolChoice);
  if (chat.parallelToolCalls !== undefined) body.parallel_tool_calls = chat.parallelToolCalls;
  if (chat.format !== undefined) body.response_format = responseFormat(chat.format);
  if (chat.think !== undefined) body.reasoning_effort = reasoningEffort(chat.think);
  if (chat.logprobs) {
    body.logprobs = true;
    if (chat.topLogprobs !== undefined) body.top_logprobs = chat.topLogprobs;
  }
  if (chat.keepAlive !== undefined) refuseKeepAlive();
  return { ...body, stream: true, stream_options: { include_usage: true } };
}

/**
 * The body of a streamed `POST /completions`: the legacy API takes `logprobs` as the number
 * of alternatives per token (0: the chosen token's only).
 */
export function completionBody(completion: BackendCompletionRequest): Record<string, unknown> {
  if (completion.think !== undefined && completion.think !== false) {
    throw new UnsupportedFieldError('think', 'a raw completion on an OpenAI-compatible server has no reasoning switch (the prompt is sent without a chat template)');
  }
  refuseOllamaOnly(completion);
  const body: Record<string, unknown> = {
    model: completion.model,
    prompt: completion.prompt,
    ...toOpenAiOptions(completion.options),
  };
  if (completion.suffix !== undefined) body.suffix = completion.suffix;
  if (completion.format !== undefined) body.response_format = responseFormat(completion.format);
  if (completion.logprobs) body.logprobs = completion.topLogprobs ?? 0;
  if (completion.keepAlive !== undefined) refuseKeepAlive();
  return { ...body, stream: true, stream_options: { include_usage: true } };
}

/** Ollama `/api/generate` fields a legacy `/completions` has no equivalent of: refused, never dropped. */
function refuseOllamaOnly(completion: BackendCompletionRequest): void {
  const why = 'an OpenAI-compatible server completes the prompt as given (no template, system prompt or token context)';
  if (completion.system !== undefined) throw new UnsupportedFieldError('system', why);
  if (completion.template !== undefined) throw new UnsupportedFieldError('template', why);
  if (completion.context !== undefined) throw new UnsupportedFieldError('context', why);
  // `raw` is left alone: such a server always completes the prompt as is, whatever the client asked.
  if (completion.images?.length) throw new UnsupportedFieldError('images', 'an OpenAI-compatible server takes no images with a raw completion');
}

/** `keep_alive` is Ollama's hold on a loaded model; these servers load theirs for good and take no such hint. */
function refuseKeepAlive(): never {
  throw new UnsupportedFieldError('keep_alive', 'an OpenAI-compatible server keeps its model loaded and has no keep_alive');
}

function toolChoice(choice: ToolChoice): unknown {
  return typeof choice === 'string' ? choice : { type: 'function', function: { name: choice.name } };
}

function responseFormat(format: OutputFormat): unknown {
  if (format === 'json') return { type: 'json_object' };
  const jsonSchema: Record<string, unknown> = { name: format.name ?? 'response', schema: format.schema };
  if (format.strict !== undefined) jsonSchema.strict = format.strict;
  return { type: 'json_schema', json_schema: jsonSchema };
}

/**
 * Messages in the OpenAI shape: a user message's images as `image_url` parts holding data
 * URLs, an assistant's calls as `tool_calls` (arguments a JSON string, `content: null` when it
 * said nothing else) and its earlier reasoning as `reasoning_content`, a tool message with the
 * `tool_call_id` it answers — taken from the latest earlier call of that function when the
 * client named only the function (Ollama's dialect).
 */
export function toOpenAiMessages(messages: readonly ChatMessage[]): Record<string, unknown>[] {
  const callIds = new Map<string, string>();
  return messages.map((message, index) => {
    if (message.images?.length && message.role !== 'user') {
      throw new UnsupportedFieldError(`messages.${index}.images`, 'an OpenAI-compatible server takes images in user messages only');
    }
    switch (message.role) {
      case 'user':
        if (!message.images?.length) return { role: 'user', content: message.content };
        return {
          role: 'user',
          content: [
            ...(message.content ? [{ type: 'text', text: message.content }] : []),
            ...message.images.map((image) => ({ type: 'image_url', image_url: { url: `data:${image.mime};base64,${image.data}` } })),
          ],
        };
      case 'assistant': {
        const calls = message.toolCalls ?? [];
        const out: Record<string, unknown> = { role: 'assistant', content: message.content || (calls.length > 0 ? null : '') };
        if (calls.length > 0) {
          out.tool_calls = calls.map((call) => ({
            id: call.id,
            type: 'function',
            function: { name: call.name, arguments: JSON.stringify(call.arguments ?? {}) },
          }));
          for (const call of calls) callIds.set(call.name, call.id);
        }
        if (message.thinking) out.reasoning_content = message.thinking;
        return out;
      }
      case 'tool': {
        const id = message.toolCallId ?? (message.toolName !== undefined ? callIds.get(message.toolName) : undefined);
        if (id === undefined) {
          throw new UnsupportedFieldError(
            `messages.${index}.tool_call_id`,
            'an OpenAI-compatible server needs the id of the call a tool message answers (no earlier call of that function was found)',
          );
        }
        return { role: 'tool', tool_call_id: id, content: message.content };
      }
      default:
        return { role: message.role, content: message.content };
    }
  });
}
