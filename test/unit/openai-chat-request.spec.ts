import 'reflect-metadata';
import { ArgumentMetadata, BadRequestException } from '@nestjs/common';
import { createValidationPipe } from '../../src/app/validation.pipe';
import { describeError } from '../../src/common/errors/all-exceptions.filter';
import { BackendError, InvalidInputError } from '../../src/common/errors/app-errors';
import { openAiErrorBody } from '../../src/common/errors/openai-error';
import type { ImageInput } from '../../src/core/llm/llm-backend';
import type { ChatResult } from '../../src/modules/chat/chat.service';
import { backendMessages, outputFormat, thinkFor } from '../../src/modules/openai/chat-request-mapping';
import { CompletionFrames, completionResponse } from '../../src/modules/openai/completion-frames';
import { ChatCompletionRequestDto } from '../../src/modules/openai/dto/chat-completion-request.dto';
import type { PreparedCompletion } from '../../src/modules/openai/openai-chat.service';
import { checkStrictOutput, strictValidator } from '../../src/modules/openai/strict-output';

const user = { role: 'user', content: 'hi' };
const weather = { type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } };

/** The body as the app's pipe makes it, or the OpenAI error (`param`, message) it refuses it with. */
async function validate(body: Record<string, unknown>): Promise<ChatCompletionRequestDto | { param: string | null; message: string }> {
  const metadata: ArgumentMetadata = { type: 'body', metatype: ChatCompletionRequestDto, data: undefined };
  try {
    return (await createValidationPipe().transform({ model: 'm', messages: [user], ...body }, metadata)) as ChatCompletionRequestDto;
  } catch (error) {
    expect(error).toBeInstanceOf(BadRequestException);
    const { param, message } = openAiErrorBody(error, describeError(error).body).error;
    return { param, message };
  }
}

describe('POST /v1/chat/completions request', () => {
  describe('validation', () => {
    it.each([
      [{ tools: [{ type: 'function', function: { parameters: { type: 'object' } } }] }, 'tools.0.function.name', 'tools.0.function.name is required'],
      [{ tools: [{ type: 'function', function: { name: 'f', parameters: 'x' } }] }, 'tools.0.function.parameters', 'tools.0.function.parameters must be a JSON Schema object of type "object"'],
      [{ tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'string' } } }] }, 'tools.0.function.parameters', 'of type "object"'],
      [{ tools: [{ type: 'custom', custom: { name: 'f' } }] }, 'tools.0.custom', 'property custom should not exist'],
      [{ tools: [weather, weather] }, 'tools', 'tools.1.function.name repeats the name of an earlier tool'],
      [{ tools: [weather], tool_choice: { type: 'function', function: { name: 'nope' } } }, 'tool_choice', 'tool_choice.function.name "nope" names no function in tools'],
      [{ tool_choice: 'required' }, 'tool_choice', 'tool_choice "required" needs tools'],
      [{ tools: [weather], tool_choice: 'any' }, 'tool_choice', 'tool_choice must be one of auto, none, required'],
      [{ response_format: { type: 'json_schema' } }, 'response_format.json_schema', 'response_format.json_schema is required'],
      [{ response_format: { type: 'json_object', json_schema: { name: 'n' } } }, 'response_format.json_schema', 'json_schema is only allowed when type is "json_schema"'],
      [{ response_format: { type: 'json_schema', json_schema: { name: 'a b' } } }, 'response_format.json_schema.name', 'name must be 1 to 64 letters'],
      [{ top_logprobs: 3 }, 'top_logprobs', 'top_logprobs is only allowed when logprobs is true'],
      [{ reasoning_effort: 'huge' }, 'reasoning_effort', 'reasoning_effort must be one of none, minimal, low, medium, high, xhigh, max'],
      [{ n: 0 }, 'n', 'n must not be less than 1'],
      [{ messages: [user, { role: 'assistant', tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{oops' } }] }] }, 'messages.1.tool_calls.0.function.arguments', 'must be a string holding a JSON object'],
      [{ messages: [user, { role: 'assistant', tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '[1]' } }] }] }, 'messages.1.tool_calls.0.function.arguments', 'JSON object'],
      [{ messages: [user, { role: 'assistant', content: null }] }, 'messages.1.content', 'content is required unless the message has tool_calls'],
      [{ messages: [user, { role: 'tool', content: 'x' }] }, 'messages.1.tool_call_id', 'messages.1.tool_call_id is required'],
      [{ messages: [user, { role: 'tool', content: 'x', tool_call_id: '' }] }, 'messages.1.tool_call_id', 'tool_call_id must be the id of the tool call'],
      [{ messages: [{ role: 'user', content: 'x', tool_call_id: 'a' }] }, 'messages.0.tool_call_id', 'tool_call_id is only allowed in tool messages'],
      [{ messages: [{ role: 'user', content: 'x', tool_calls: [] }] }, 'messages.0.tool_calls', 'tool_calls is only allowed in assistant messages'],
      [{ messages: [user, { role: 'assistant', content: [{ type: 'image_url', image_url: { url: 'data:,' } }] }] }, 'messages.1.content', 'content.0.type image_url is only allowed in user messages'],
      [{ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'x', detail: 'max' } }] }] }, 'messages.0.content', 'content.0.image_url.detail must be one of auto, low, high'],
    ])('%j → 400 naming %s', async (body, param, message) => {
      const refused = await validate(body);
      expect(refused).toEqual({ param, message: expect.stringContaining(message) });
    });

    it('accepts a whole tool conversation as the OpenAI SDK sends it, nulls where OpenAI allows them', async () => {
      const body = await validate({
        tools: [weather],
        tool_choice: { type: 'function', function: { name: 'get_weather' } },
        parallel_tool_calls: false,
        reasoning_effort: null,
        logprobs: true,
        top_logprobs: 2,
        n: 8,
        response_format: { type: 'text' },
        messages: [
          user,
          { role: 'assistant', content: null, refusal: null, reasoning: 'hmm', tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } }] },
          { role: 'tool', tool_call_id: 'call_1', content: [{ type: 'text', text: '12 °C' }] },
          { role: 'user', content: [{ type: 'text', text: 'and?' }, { type: 'image_url', image_url: { url: 'data:image/png;base64,AA==', detail: 'low' } }] },
        ],
      });
      expect(body).toBeInstanceOf(ChatCompletionRequestDto);
    });
  });

  describe('mapping', () => {
    const image: ImageInput = { mime: 'image/png', data: 'AA==', bytes: 1, sha256: 'ab' };

    it('maps roles, tool calls, tool results (with the name of the call they answer), reasoning and images', async () => {
      const body = (await validate({
        messages: [
          { role: 'developer', content: 'sys' },
          user,
          { role: 'assistant', content: null, reasoning: 'r1', reasoning_content: 'r2', tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } }] },
          { role: 'tool', tool_call_id: 'call_1', content: '12' },
          { role: 'user', content: [{ type: 'text', text: 'a' }, { type: 'image_url', image_url: { url: 'data:x' } }, { type: 'text', text: 'b' }] },
        ],
      })) as ChatCompletionRequestDto;
      const asked: [string, string][] = [];
      const messages = await backendMessages(body.messages, async (url, field) => {
        asked.push([url, field]);
        return image;
      });
      expect(asked).toEqual([['data:x', 'messages.4.content.1.image_url.url']]);
      expect(messages).toEqual([
        { role: 'system', content: 'sys' },
        { role: 'user', content: 'hi' },
        { role: 'assistant', content: '', thinking: 'r2', toolCalls: [{ id: 'call_1', name: 'get_weather', arguments: { city: 'Oslo' } }] },
        { role: 'tool', content: '12', toolCallId: 'call_1', toolName: 'get_weather' },
        { role: 'user', content: 'a\nb', images: [image] },
      ]);
    });

    it('refuses a tool result that answers no earlier call, before fetching any image', async () => {
      const body = (await validate({
        messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://example.com/a.png' } }] }, { role: 'tool', tool_call_id: 'call_9', content: 'x' }],
      })) as ChatCompletionRequestDto;
      let fetched = 0;
      const failure = await backendMessages(body.messages, async () => {
        fetched += 1;
        return image;
      }).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(InvalidInputError);
      expect(failure).toMatchObject({ param: 'messages.1.tool_call_id' });
      expect(fetched).toBe(0);
    });

    it('maps reasoning_effort onto think and response_format onto format', () => {
      expect(['none', 'minimal', 'low', 'medium', 'high', 'xhigh', 'max'].map((effort) => thinkFor(effort as never))).toEqual([false, 'low', 'low', 'medium', 'high', 'max', 'max']);
      expect(outputFormat({ type: 'text' })).toBeUndefined();
      expect(outputFormat({ type: 'json_object' })).toBe('json');
      expect(outputFormat({ type: 'json_schema', json_schema: { name: 'n' } })).toBe('json');
      expect(outputFormat({ type: 'json_schema', json_schema: { name: 'n', schema: { type: 'object' }, strict: true } })).toEqual({ schema: { type: 'object' }, name: 'n', strict: true });
    });
  });

  describe('strict json_schema', () => {
    const schema = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false };

    it('passes a conforming answer and reports others as a 502 naming response_format', () => {
      const validate = strictValidator(schema);
      expect(() => checkStrictOutput(validate, '{"city":"Oslo"}')).not.toThrow();
      for (const [text, reason] of [
        ['{"city":1}', "the model's answer does not follow the schema at /city: must be string"],
        ['{"city":"Oslo"', "the model's answer is not JSON"],
        ['', "the model's answer is not JSON (it is empty)"],
      ]) {
        let error: unknown;
        try {
          checkStrictOutput(validate, text);
        } catch (caught) {
          error = caught;
        }
        expect(error).toBeInstanceOf(BackendError);
        expect(error).toMatchObject({ status: 502, param: 'response_format', code: 'invalid_model_output', message: `${reason} (response_format.json_schema.strict is true)` });
      }
    });

    it('takes draft 2020-12 schemas and refuses one ajv cannot compile as the client\'s error', () => {
      expect(() => strictValidator({ $schema: 'https://json-schema.org/draft/2020-12/schema', type: 'object', prefixItems: [{ type: 'string' }] })).not.toThrow();
      expect(() => strictValidator({ type: 'object', properties: { a: { type: 'nonsense' } } })).toThrow(
        expect.objectContaining({ status: 400, param: 'response_format.json_schema.schema' }),
      );
    });
  });

  describe('frames', () => {
    const prepared = { id: 'chatcmpl-1', created: 1, model: 'm', includeUsage: false, logprobs: true, n: 2 } as PreparedCompletion;
    const result = (over: Partial<ChatResult>): ChatResult => ({
      response: '',
      conversationId: 1,
      sessionId: 's',
      model: 'm',
      cached: false,
      usage: { promptTokens: 10, completionTokens: 8 },
      finishReason: 'stop',
      thinking: '',
      toolCalls: [],
      ...over,
    });

    it('streams a tool call as OpenAI does: the opening delta with index, id, type, name and empty arguments, then the arguments', () => {
      const frames = new CompletionFrames(prepared);
      const call = { id: 'call_1', name: 'f', arguments: { a: 1 } };
      const deltas = [
        ...frames.frames(1, { type: 'tool_call', call }),
        ...frames.frames(1, { type: 'tool_call', call: { ...call, id: 'call_2' } }),
        ...frames.frames(0, { type: 'thinking', text: 'hm' }),
        ...frames.frames(0, { type: 'token', text: 'Hi', logprobs: [{ token: 'Hi', logprob: -0.5 }] }),
        ...frames.frames(1, { type: 'done', result: result({ finishReason: 'tool_calls' }) }),
      ].map((frame) => frame.choices[0]);
      expect(deltas).toEqual([
        { index: 1, delta: { role: 'assistant', content: null, tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'f', arguments: '' } }] }, logprobs: null, finish_reason: null },
        { index: 1, delta: { tool_calls: [{ index: 0, function: { arguments: '{"a":1}' } }] }, logprobs: null, finish_reason: null },
        { index: 1, delta: { tool_calls: [{ index: 1, id: 'call_2', type: 'function', function: { name: 'f', arguments: '' } }] }, logprobs: null, finish_reason: null },
        { index: 1, delta: { tool_calls: [{ index: 1, function: { arguments: '{"a":1}' } }] }, logprobs: null, finish_reason: null },
        { index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null },
        { index: 0, delta: { reasoning_content: 'hm', reasoning: 'hm' }, logprobs: null, finish_reason: null },
        {
          index: 0,
          delta: { content: 'Hi' },
          logprobs: { content: [{ token: 'Hi', logprob: -0.5, bytes: [72, 105], top_logprobs: [] }], refusal: null },
          finish_reason: null,
        },
        { index: 1, delta: {}, logprobs: null, finish_reason: 'tool_calls' },
      ]);
    });

    it('answers tool calls with content null, reasoning under both names, and usage over all choices', () => {
      const body = completionResponse(prepared, [
        result({ response: 'ok', thinking: 'abc', usage: { promptTokens: 10, completionTokens: 6 }, logprobs: [] }),
        result({ toolCalls: [{ id: 'call_1', name: 'f', arguments: {} }], finishReason: 'tool_calls' }),
      ]);
      expect(body.choices).toEqual([
        { index: 0, message: { role: 'assistant', content: 'ok', refusal: null, reasoning_content: 'abc', reasoning: 'abc' }, finish_reason: 'stop', logprobs: { content: [], refusal: null } },
        {
          index: 1,
          message: { role: 'assistant', content: null, refusal: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'f', arguments: '{}' } }] },
          finish_reason: 'tool_calls',
          logprobs: { content: [], refusal: null },
        },
      ]);
      // 3 characters of thinking and 2 of answer share the first choice's 6 tokens.
      expect(body.usage).toEqual({ prompt_tokens: 10, completion_tokens: 14, total_tokens: 24, completion_tokens_details: { reasoning_tokens: 4 } });
    });
  });
});
