import { createHash } from 'node:crypto';
import { BackendError, UnsupportedFieldError } from '../../src/common/errors/app-errors';
import type { BackendChatRequest, BackendChunk, ImageInput } from '../../src/core/llm/llm-backend';
import { OpenAiBackend } from '../../src/core/llm/backends/openai/openai.backend';
import { FakeOpenAi } from '../support/fake-openai';

/**
 * The OpenAI-compatible adapter against the fake server over HTTP on loopback: what each field
 * of the exchange model becomes on the wire, and what the streamed answer becomes.
 */
describe(OpenAiBackend.name, () => {
  const fake = new FakeOpenAi({ models: ['qwen3'] });
  let backend: OpenAiBackend;

  beforeAll(async () => {
    await fake.start();
    backend = new OpenAiBackend(fake.url);
  });
  afterAll(async () => {
    await backend.close();
    await fake.stop();
  });
  afterEach(() => fake.reset());

  const collect = async (stream: AsyncIterable<BackendChunk>): Promise<BackendChunk[]> => {
    const out: BackendChunk[] = [];
    for await (const chunk of stream) out.push(chunk);
    return out;
  };
  const chat = (request: Partial<BackendChatRequest>) =>
    collect(backend.chatStream({ model: 'qwen3', messages: [{ role: 'user', content: 'hi' }], options: {}, ...request }, new AbortController().signal));
  const sent = () => fake.chatRequests()[0].body;

  const png = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');
  const image: ImageInput = { mime: 'image/png', data: png.toString('base64'), bytes: png.length, sha256: createHash('sha256').update(png).digest('hex') };

  describe('chatStream: the request', () => {
    it('sends tools, tool_choice, parallel_tool_calls, response_format, reasoning_effort and logprobs by their OpenAI names', async () => {
      const parameters = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] };
      await chat({
        tools: [{ name: 'get_weather', description: 'Weather now', parameters }],
        toolChoice: { name: 'get_weather' },
        parallelToolCalls: false,
        format: { name: 'weather', schema: { type: 'object' }, strict: true },
        think: 'max',
        logprobs: true,
        topLogprobs: 2,
        options: { temperature: 0.1, num_predict: 50 },
      });
      expect(sent()).toEqual({
        model: 'qwen3',
        messages: [{ role: 'user', content: 'hi' }],
        temperature: 0.1,
        max_tokens: 50,
        tools: [{ type: 'function', function: { name: 'get_weather', description: 'Weather now', parameters } }],
        tool_choice: { type: 'function', function: { name: 'get_weather' } },
        parallel_tool_calls: false,
        response_format: { type: 'json_schema', json_schema: { name: 'weather', schema: { type: 'object' }, strict: true } },
        reasoning_effort: 'high',
        logprobs: true,
        top_logprobs: 2,
        stream: true,
        stream_options: { include_usage: true },
      });
    });

    it.each([
      [false, 'none'],
      [true, 'medium'],
      ['low', 'low'],
      ['medium', 'medium'],
      ['high', 'high'],
      ['max', 'high'],
    ] as const)('maps think %p to reasoning_effort %p', async (think, effort) => {
      await chat({ think });
      expect(sent().reasoning_effort).toBe(effort);
    });

    it.each(['auto', 'none', 'required'] as const)('passes tool_choice %p through as is', async (choice) => {
      await chat({ tools: [{ name: 'f' }], toolChoice: choice });
      expect(sent().tool_choice).toBe(choice);
    });

    it('sends format json as response_format json_object, and a schema without a name as "response"', async () => {
      await chat({ format: 'json' });
      await chat({ format: { schema: { type: 'object' } } });
      expect(fake.chatRequests().map((request) => request.body.response_format)).toEqual([
        { type: 'json_object' },
        { type: 'json_schema', json_schema: { name: 'response', schema: { type: 'object' } } },
      ]);
    });

    it('maps a whole tool conversation: images as data URL parts, calls with JSON-string arguments, reasoning, tool results', async () => {
      await chat({
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: 'What is on this picture, and the weather?', images: [image] },
          {
            role: 'assistant',
            content: '',
            thinking: 'I should call the tool.',
            toolCalls: [{ id: 'call_1', name: 'get_weather', arguments: { city: 'Oslo' } }],
          },
          { role: 'tool', content: '{"temp":3}', toolCallId: 'call_1', toolName: 'get_weather' },
          { role: 'assistant', content: 'It is 3 degrees.' },
          { role: 'user', content: 'And now?', images: [image] },
          { role: 'assistant', content: '', toolCalls: [{ id: 'call_2', name: 'get_weather', arguments: {} }] },
          // Ollama's dialect names the function only: the id comes from the latest call of it.
          { role: 'tool', content: '{"temp":4}', toolName: 'get_weather' },
        ],
      });
      const url = `data:image/png;base64,${image.data}`;
      expect(sent().messages).toEqual([
        { role: 'system', content: 'Be brief.' },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What is on this picture, and the weather?' },
            { type: 'image_url', image_url: { url } },
          ],
        },
        {
          role: 'assistant',
          content: null,
          reasoning_content: 'I should call the tool.',
          tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } }],
        },
        { role: 'tool', tool_call_id: 'call_1', content: '{"temp":3}' },
        { role: 'assistant', content: 'It is 3 degrees.' },
        { role: 'user', content: [{ type: 'text', text: 'And now?' }, { type: 'image_url', image_url: { url } }] },
        { role: 'assistant', content: null, tool_calls: [{ id: 'call_2', type: 'function', function: { name: 'get_weather', arguments: '{}' } }] },
        { role: 'tool', tool_call_id: 'call_2', content: '{"temp":4}' },
      ]);
    });

    it('refuses, naming the field and sending nothing, a tool message whose call cannot be found and images outside a user message', async () => {
      await expect(chat({ messages: [{ role: 'tool', content: 'x', toolName: 'nowhere' }] })).rejects.toThrow(
        new UnsupportedFieldError('messages.0.tool_call_id', 'an OpenAI-compatible server needs the id of the call a tool message answers (no earlier call of that function was found)'),
      );
      await expect(chat({ messages: [{ role: 'user', content: 'a' }, { role: 'assistant', content: 'b', images: [image] }] })).rejects.toMatchObject({
        status: 400,
        param: 'messages.1.images',
      });
      expect(fake.chatRequests()).toHaveLength(0);
    });

    it('refuses, naming it and sending nothing, an Ollama option or keep_alive the server has no equivalent of', async () => {
      await expect(chat({ options: { temperature: 0.1, num_ctx: 8192 } })).rejects.toMatchObject({ status: 400, param: 'options.num_ctx', code: 'unsupported_field' });
      await expect(chat({ options: { mirostat: 2 } })).rejects.toThrow("options.mirostat: Ollama's mirostat has no equivalent on an OpenAI-compatible server");
      await expect(chat({ keepAlive: '5m' })).rejects.toMatchObject({ status: 400, param: 'keep_alive' });
      expect(fake.chatRequests()).toHaveLength(0);
    });
  });

  describe('chatStream: the answer', () => {
    it('hands on reasoning as thinking before the text, and whole tool calls assembled from their fragments', async () => {
      fake.enqueueAnswer({
        reasoning: 'The user wants weather for two cities.',
        content: 'Checking.',
        toolCalls: [
          { name: 'get_weather', arguments: { city: 'Oslo', units: { temperature: 'celsius' } } },
          { name: 'get_time', arguments: { zone: 'Europe/Oslo' } },
        ],
      });
      const chunks = await chat({ tools: [{ name: 'get_weather' }, { name: 'get_time' }] });
      const thinking = chunks.filter((chunk) => chunk.type === 'thinking').map((chunk) => (chunk as { text: string }).text).join('');
      const text = chunks.filter((chunk) => chunk.type === 'token').map((chunk) => (chunk as { text: string }).text).join('');
      expect(thinking).toBe('The user wants weather for two cities.');
      expect(text).toBe('Checking.');
      const kinds = chunks.map((chunk) => chunk.type);
      expect(kinds.lastIndexOf('thinking')).toBeLessThan(kinds.indexOf('token'));
      expect(chunks.filter((chunk) => chunk.type === 'tool_call')).toEqual([
        { type: 'tool_call', call: { id: expect.stringMatching(/^chatcmpl-tool-0/), name: 'get_weather', arguments: { city: 'Oslo', units: { temperature: 'celsius' } } } },
        { type: 'tool_call', call: { id: expect.stringMatching(/^chatcmpl-tool-1/), name: 'get_time', arguments: { zone: 'Europe/Oslo' } } },
      ]);
      expect(chunks[chunks.length - 1]).toEqual({ type: 'done', usage: { promptTokens: 7, completionTokens: 8 }, doneReason: 'tool_calls' });
    });

    it('reads reasoning under reasoning_content too (DeepSeek, older vLLM)', async () => {
      fake.configure({ reasoningField: 'reasoning_content' });
      fake.enqueueAnswer({ reasoning: 'hmm, let me see', content: 'yes' });
      const chunks = await chat({ think: true });
      expect(chunks.filter((chunk) => chunk.type === 'thinking').map((chunk) => (chunk as { text: string }).text).join('')).toBe('hmm, let me see');
    });

    it('hands on tool calls at the end of a llama.cpp-style stream (usage in the finish chunk, no [DONE])', async () => {
      fake.configure({ style: 'llamacpp', sendDone: false });
      fake.enqueueAnswer({ toolCalls: [{ name: 'f', arguments: { a: 1 }, id: 'call_x' }] });
      const chunks = await chat({ tools: [{ name: 'f' }] });
      expect(chunks).toEqual([
        { type: 'tool_call', call: { id: 'call_x', name: 'f', arguments: { a: 1 } } },
        { type: 'done', usage: { promptTokens: 7, completionTokens: 0 }, doneReason: 'tool_calls' },
      ]);
    });

    it('fails with a BackendError naming the call when the server sends arguments that are not JSON', async () => {
      fake.enqueueAnswer({ toolCalls: [{ name: 'get_weather', arguments: '{"city": "Oslo"', id: 'call_bad' }] });
      await expect(chat({ tools: [{ name: 'get_weather' }] })).rejects.toThrow(
        new BackendError('The OpenAI-compatible server sent tool call call_bad (get_weather) with arguments that are not a JSON object: {"city": "Oslo"'),
      );
    });

    it('hands on the logprobs of every token, with the top alternatives', async () => {
      fake.enqueueAnswer({ content: 'one two' });
      const chunks = await chat({ logprobs: true, topLogprobs: 2 });
      const logprobs = chunks.flatMap((chunk) => (chunk.type === 'token' ? (chunk.logprobs ?? []) : []));
      expect(logprobs).toEqual([
        {
          token: 'one ',
          logprob: -0.125,
          bytes: [...Buffer.from('one ')],
          topLogprobs: [
            { token: 'one ', logprob: -0.125, bytes: [...Buffer.from('one ')] },
            { token: 'alt1', logprob: -1.125, bytes: [...Buffer.from('alt1')] },
          ],
        },
        {
          token: 'two',
          logprob: -0.25,
          bytes: [...Buffer.from('two')],
          topLogprobs: [
            { token: 'two', logprob: -0.25, bytes: [...Buffer.from('two')] },
            { token: 'alt1', logprob: -1.25, bytes: [...Buffer.from('alt1')] },
          ],
        },
      ]);
    });
  });

  describe('completionStream', () => {
    const complete = (request: Partial<Parameters<OpenAiBackend['completionStream']>[0]>) =>
      collect(backend.completionStream({ model: 'qwen3', prompt: 'def add(a, b):', options: {}, ...request }, new AbortController().signal));

    it('sends prompt, suffix, max_tokens and logprobs as a top-N count to /completions, and reads the text back', async () => {
      const chunks = await complete({ suffix: 'return c', options: { num_predict: 64, temperature: 0 }, logprobs: true, topLogprobs: 1 });
      expect(fake.completionRequests()[0].body).toEqual({
        model: 'qwen3',
        prompt: 'def add(a, b):',
        suffix: 'return c',
        temperature: 0,
        max_tokens: 64,
        logprobs: 1,
        stream: true,
        stream_options: { include_usage: true },
      });
      const text = chunks.map((chunk) => (chunk.type === 'token' ? chunk.text : '')).join('');
      expect(text).toBe('Completion of def add(a, b): before return c');
      const logprobs = chunks.flatMap((chunk) => (chunk.type === 'token' ? (chunk.logprobs ?? []) : []));
      expect(logprobs[0]).toEqual({ token: 'Completion ', logprob: -0.125, topLogprobs: [{ token: 'Completion ', logprob: -0.125 }] });
      expect(logprobs).toHaveLength(8);
      expect(chunks[chunks.length - 1]).toEqual({ type: 'done', usage: { promptTokens: 5, completionTokens: 8 }, doneReason: 'stop' });
    });

    it('stops at max_tokens with finish reason length, and sends logprobs 0 when no top-N was asked', async () => {
      const chunks = await complete({ options: { num_predict: 2 }, logprobs: true });
      expect(fake.completionRequests()[0].body.logprobs).toBe(0);
      expect(chunks[chunks.length - 1]).toMatchObject({ type: 'done', doneReason: 'length' });
    });

    it('refuses think (a raw prompt has no reasoning switch) before sending anything', async () => {
      await expect(complete({ think: 'high' })).rejects.toMatchObject({ status: 400, param: 'think' });
      expect(fake.completionRequests()).toHaveLength(0);
    });
  });
});
