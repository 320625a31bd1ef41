import OpenAI, { APIError, type ClientOptions } from 'openai';
import { zodResponseFormat } from 'openai/helpers/zod';
import type { ChatCompletionChunk, ChatCompletionTool } from 'openai/resources/chat/completions';
import { fetch as undiciFetch } from 'undici';
import { z } from 'zod';
import type { ChatRequestBody, FakeAnswer } from '../support/fake-ollama';
import { queryDb } from '../support/sqlite';
import { TEST_API_KEY, TestApp, useAppWithFakeOllama } from '../support/test-app';
import { failureOf } from '../support/failure';

interface Row {
  prompt: string;
  response: string;
  session_id: string;
  status: string;
}

/** A 1×1 PNG. */
const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==';

const weatherTool: ChatCompletionTool = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'The weather in a city.',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
};

/** The model: asks for the weather until it has a tool result, then answers from it. */
function respond(req: ChatRequestBody): FakeAnswer {
  const last = req.messages?.at(-1);
  if (last?.role === 'tool') return { content: `It is ${String(last.content)} in Oslo.` };
  if (Array.isArray(req.tools) && String(last?.content).includes('two cities')) {
    return { toolCalls: [{ name: 'get_weather', arguments: { city: 'Oslo' } }, { name: 'get_weather', arguments: { city: 'Bergen' } }] };
  }
  if (Array.isArray(req.tools) && req.tools.length > 0 && String(last?.content).includes('weather')) {
    return { toolCalls: [{ name: 'get_weather', arguments: { city: 'Oslo' } }] };
  }
  return {};
}

/**
 * The unmodified OpenAI SDK against /v1/chat/completions, the fake Ollama behind it speaking
 * tools, thinking, format and logprobs: what each SDK helper sends and gets back, and what
 * reaches Ollama.
 */
describe('OpenAI SDK: tools, structured output, thinking, images, n, logprobs', () => {
  const harness = useAppWithFakeOllama({
    models: [
      'mistral',
      { name: 'qwen3', capabilities: ['completion', 'tools', 'thinking'] },
      { name: 'llava', capabilities: ['completion', 'vision'] },
    ],
    respond,
  });
  const { fake } = harness;
  let t: TestApp | undefined;
  let client: OpenAI;

  const start = async (env: Record<string, string> = {}) => {
    t = await harness.start(env);
    client = new OpenAI({
      baseURL: `${t.url}/v1`,
      apiKey: TEST_API_KEY,
      maxRetries: 0,
      timeout: 20_000,
      fetch: undiciFetch as unknown as typeof fetch,
      fetchOptions: { dispatcher: harness.dispatcher() } as unknown as ClientOptions['fetchOptions'],
    });
  };
  const rows = () => queryDb<Row>(t!.dbPath, 'SELECT * FROM conversations ORDER BY id');

  const failure = (call: () => Promise<unknown>): Promise<APIError> => failureOf(call, APIError);

  describe('tool calling', () => {
    it('round trip: the call comes back as tool_calls, the tool result goes to Ollama with the call id and the function name', async () => {
      await start();
      const question = { role: 'user' as const, content: "What's the weather in Oslo?" };
      const first = await client.chat.completions.create({ model: 'qwen3', messages: [question], tools: [weatherTool], reasoning_effort: 'none' });
      const [choice] = first.choices;
      expect(choice.finish_reason).toBe('tool_calls');
      expect(choice.message.content).toBeNull();
      expect(choice.message.tool_calls).toEqual([
        { id: expect.stringMatching(/^call_/), type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } },
      ]);
      const call = choice.message.tool_calls![0];

      const second = await client.chat.completions.create({
        model: 'qwen3',
        tools: [weatherTool],
        reasoning_effort: 'none',
        messages: [question, choice.message, { role: 'tool', tool_call_id: call.id, content: '12 °C' }],
      });
      expect(second.choices[0]).toMatchObject({ finish_reason: 'stop', message: { content: 'It is 12 °C in Oslo.' } });

      const sent = fake.chatRequests()[1].body as ChatRequestBody;
      expect(sent.tools).toEqual([{ type: 'function', function: weatherTool.function }]);
      expect(sent.messages!.slice(1)).toEqual([
        expect.objectContaining({ role: 'assistant', content: '', tool_calls: [expect.objectContaining({ function: expect.objectContaining({ name: 'get_weather', arguments: { city: 'Oslo' } }) })] }),
        expect.objectContaining({ role: 'tool', content: '12 °C', tool_call_id: call.id, tool_name: 'get_weather' }),
      ]);
      expect((await rows()).map((row) => [row.status, row.response])).toEqual([
        ['ok', ''],
        ['ok', 'It is 12 °C in Oslo.'],
      ]);
      // The stored exchanges hold the whole request and answer: the call, and the result it got.
      const [firstId, secondId] = (await queryDb<{ id: number }>(t!.dbPath, 'SELECT id FROM conversations ORDER BY id')).map((row) => row.id);
      const stored = async (id: number) => (await t!.request(`/conversations/${id}`)).json();
      expect((await stored(firstId)).answer).toEqual({ text: '', finish_reason: 'tool_calls', tool_calls: [{ id: call.id, name: 'get_weather', arguments: { city: 'Oslo' } }] });
      expect((await stored(secondId)).request).toMatchObject({
        model: 'qwen3',
        think: false,
        tools: [{ name: 'get_weather', description: 'The weather in a city.', parameters: weatherTool.function.parameters }],
        messages: [
          { role: 'user', content: question.content },
          { role: 'assistant', content: '', tool_calls: [{ id: call.id, name: 'get_weather', arguments: { city: 'Oslo' } }] },
          { role: 'tool', content: '12 °C', tool_call_id: call.id, tool_name: 'get_weather' },
        ],
      });
    });

    it('streams tool calls that chat.completions.stream() assembles, with finish_reason tool_calls', async () => {
      await start();
      const stream = client.chat.completions.stream({
        model: 'qwen3',
        messages: [{ role: 'user', content: 'weather in Oslo, please' }],
        tools: [weatherTool],
        reasoning_effort: 'none',
      });
      const chunks: ChatCompletionChunk[] = [];
      stream.on('chunk', (chunk) => chunks.push(chunk));
      const final = await stream.finalChatCompletion();
      expect(final.choices[0].finish_reason).toBe('tool_calls');
      expect(final.choices[0].message.tool_calls).toEqual([
        { id: expect.stringMatching(/^call_/), type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } },
      ]);
      // The opening delta names the call with empty arguments; the arguments follow in the next.
      const deltas = chunks.flatMap((chunk) => chunk.choices.flatMap((c) => c.delta.tool_calls ?? []));
      expect(deltas).toEqual([
        { index: 0, id: final.choices[0].message.tool_calls![0].id, type: 'function', function: { name: 'get_weather', arguments: '' } },
        { index: 0, function: { arguments: '{"city":"Oslo"}' } },
      ]);
    });

    it('runTools() (streaming) runs the function the model called and sends the result back until the model answers', async () => {
      await start();
      const calls: unknown[] = [];
      const runner = client.chat.completions.runTools({
        model: 'qwen3',
        stream: true,
        reasoning_effort: 'none',
        messages: [{ role: 'user', content: 'weather in Oslo?' }],
        tools: [
          {
            type: 'function',
            function: {
              name: 'get_weather',
              description: 'The weather in a city.',
              parameters: weatherTool.function.parameters!,
              parse: JSON.parse,
              function: (args: { city: string }) => {
                calls.push(args);
                return '7 °C';
              },
            },
          },
        ],
      });
      expect(await runner.finalContent()).toBe('It is 7 °C in Oslo.');
      expect(calls).toEqual([{ city: 'Oslo' }]);
      expect(fake.chatRequests()[1].body.messages.at(-1)).toEqual(expect.objectContaining({ role: 'tool', content: '7 °C', tool_name: 'get_weather' }));
    });

    it('parallel calls come back indexed 0 and 1; parallel_tool_calls false keeps the first', async () => {
      await start();
      const ask = (parallel?: boolean) =>
        client.chat.completions.create({
          model: 'qwen3',
          messages: [{ role: 'user', content: 'weather in two cities' }],
          tools: [weatherTool],
          reasoning_effort: 'none',
          ...(parallel === undefined ? {} : { parallel_tool_calls: parallel }),
        });
      const both = await ask();
      expect(both.choices[0].message.tool_calls!.map((call) => (call as { function: { arguments: string } }).function.arguments)).toEqual([
        '{"city":"Oslo"}',
        '{"city":"Bergen"}',
      ]);
      const first = await ask(false);
      expect(first.choices[0].message.tool_calls!.map((call) => (call as { function: { arguments: string } }).function.arguments)).toEqual(['{"city":"Oslo"}']);
      expect(first.choices[0].finish_reason).toBe('tool_calls');
    });

    it('tool_choice none leaves the tools out; a named choice goes to Ollama as a format of that call', async () => {
      await start();
      await client.chat.completions.create({ model: 'qwen3', messages: [{ role: 'user', content: 'weather?' }], tools: [weatherTool], tool_choice: 'none', reasoning_effort: 'none' });
      expect(fake.chatRequests()[0].body.tools).toBeUndefined();
      const named = await client.chat.completions.create({
        model: 'qwen3',
        messages: [{ role: 'user', content: 'Oslo' }],
        tools: [weatherTool],
        tool_choice: { type: 'function', function: { name: 'get_weather' } },
        reasoning_effort: 'none',
      });
      expect(fake.chatRequests()[1].body.format).toEqual({
        anyOf: [expect.objectContaining({ properties: { name: { const: 'get_weather' }, arguments: weatherTool.function.parameters } })],
      });
      expect(named.choices[0].finish_reason).toBe('tool_calls');
      expect(named.choices[0].message.tool_calls).toEqual([expect.objectContaining({ type: 'function', function: { name: 'get_weather', arguments: expect.any(String) } })]);
    });
  });

  describe('response_format', () => {
    const Weather = z.object({ city: z.string(), celsius: z.number() });

    it('chat.completions.parse with a zod json_schema: the schema goes to Ollama as format, the answer comes back parsed', async () => {
      await start();
      const completion = await client.chat.completions.parse({
        model: 'mistral',
        messages: [{ role: 'user', content: 'Oslo as JSON' }],
        response_format: zodResponseFormat(Weather, 'weather'),
      });
      const format = fake.chatRequests()[0].body.format as Record<string, unknown>;
      expect(format).toMatchObject({ type: 'object', properties: { city: { type: 'string' }, celsius: { type: 'number' } } });
      expect(Weather.parse(completion.choices[0].message.parsed)).toEqual(completion.choices[0].message.parsed);
    });

    it('strict: an answer that does not follow the schema is a 502 invalid_model_output, stored as error', async () => {
      await start();
      fake.enqueue({ kind: 'answer', answer: { content: '{"city": 5, "celsius": 3}' } });
      const error = await failure(() =>
        client.chat.completions.create({ model: 'mistral', messages: [{ role: 'user', content: 'Oslo' }], response_format: zodResponseFormat(Weather, 'weather') }),
      );
      expect({ status: error.status, code: error.code, param: error.param }).toEqual({ status: 502, code: 'invalid_model_output', param: 'response_format' });
      expect(error.message).toContain("the model's answer does not follow the schema at /city: must be string");
      expect((await rows()).map((row) => row.status)).toEqual(['error']);

      fake.enqueue({ kind: 'answer', answer: { content: '{"city": 5}' } });
      const stream = await client.chat.completions.create({
        model: 'mistral',
        messages: [{ role: 'user', content: 'Oslo again' }],
        response_format: zodResponseFormat(Weather, 'weather'),
        stream: true,
      });
      const streamed = await failure(async () => {
        for await (const chunk of stream) expect(chunk.choices[0]?.finish_reason ?? null).toBeNull();
      });
      expect(streamed.message).toContain('does not follow the schema');
    });

    it('json_object is format "json"', async () => {
      await start();
      const completion = await client.chat.completions.create({ model: 'mistral', messages: [{ role: 'user', content: 'x' }], response_format: { type: 'json_object' } });
      expect(fake.chatRequests()[0].body.format).toBe('json');
      expect(JSON.parse(completion.choices[0].message.content!)).toEqual({});
    });
  });

  describe('thinking', () => {
    it('reasoning_effort becomes think; the reasoning comes back as reasoning_content and reasoning, streamed and not', async () => {
      await start();
      fake.enqueue({ kind: 'answer', answer: { thinking: 'Let me think.', content: 'Blue.' } });
      const completion = await client.chat.completions.create({ model: 'qwen3', messages: [{ role: 'user', content: 'Sky colour?' }], reasoning_effort: 'minimal' });
      expect(fake.chatRequests()[0].body.think).toBe('low');
      const message = completion.choices[0].message as typeof completion.choices[0]['message'] & { reasoning_content?: string; reasoning?: string };
      expect(message).toMatchObject({ content: 'Blue.', reasoning_content: 'Let me think.', reasoning: 'Let me think.' });
      expect(completion.usage!.completion_tokens_details!.reasoning_tokens).toBeGreaterThan(0);

      fake.enqueue({ kind: 'answer', answer: { thinking: 'Let me think.', content: 'Blue.' } });
      const stream = await client.chat.completions.create({ model: 'qwen3', messages: [{ role: 'user', content: 'Sky colour?' }], reasoning_effort: 'high', stream: true });
      let reasoning = '';
      let content = '';
      for await (const chunk of stream) {
        const delta = chunk.choices[0]?.delta as { content?: string | null; reasoning_content?: string; reasoning?: string } | undefined;
        reasoning += delta?.reasoning_content ?? '';
        expect(delta?.reasoning).toBe(delta?.reasoning_content);
        content += delta?.content ?? '';
      }
      expect(fake.chatRequests()[1].body.think).toBe('high');
      expect({ reasoning, content }).toEqual({ reasoning: 'Let me think.', content: 'Blue.' });
    });
  });

  describe('n and logprobs', () => {
    it('n=2 runs two generations, each stored under the completion id; streamed, the chunks carry both indexes', async () => {
      await start();
      const completion = await client.chat.completions.create({ model: 'mistral', messages: [{ role: 'user', content: 'two please' }], n: 2 });
      expect(completion.choices.map((choice) => [choice.index, choice.message.content])).toEqual([
        [0, 'Echo: two please'],
        [1, 'Echo: two please'],
      ]);
      expect(fake.chatRequests()).toHaveLength(2);
      const hex = completion.id.slice('chatcmpl-'.length);
      expect((await rows()).map((row) => [row.session_id, row.status])).toEqual([
        [hex, 'ok'],
        [hex, 'ok'],
      ]);

      const stream = client.chat.completions.stream({ model: 'mistral', messages: [{ role: 'user', content: 'two streamed' }], n: 2, temperature: 0.9 });
      const final = await stream.finalChatCompletion();
      expect(final.choices.map((choice) => [choice.index, choice.message.content, choice.finish_reason])).toEqual([
        [0, 'Echo: two streamed', 'stop'],
        [1, 'Echo: two streamed', 'stop'],
      ]);
    });

    it('when one of n choices fails, the other is cancelled and the failure is the answer; both exchanges are stored', async () => {
      await start({ LLM_MAX_RETRIES: '0' });
      fake.enqueue({ kind: 'hang' }, { kind: 'status', status: 500, message: 'model crashed' });
      const error = await failure(() => client.chat.completions.create({ model: 'mistral', messages: [{ role: 'user', content: 'two' }], n: 2 }));
      expect(error.status).toBe(502);
      await fake.waitForAbort(0, 5000);
      expect((await rows()).map((row) => row.status).sort()).toEqual(['aborted', 'error']);
    });

    it('logprobs with top_logprobs: per token, streamed and not', async () => {
      await start();
      const completion = await client.chat.completions.create({ model: 'mistral', messages: [{ role: 'user', content: 'a b' }], logprobs: true, top_logprobs: 2 });
      expect(fake.chatRequests()[0].body).toMatchObject({ logprobs: true, top_logprobs: 2 });
      const tokens = completion.choices[0].logprobs!.content!;
      expect(tokens.length).toBeGreaterThan(0);
      expect(tokens.map((token) => token.token).join('')).toBe(completion.choices[0].message.content);
      for (const token of tokens) {
        expect(token).toEqual({ token: expect.any(String), logprob: expect.any(Number), bytes: expect.any(Array), top_logprobs: expect.any(Array) });
        expect(token.top_logprobs).toHaveLength(2);
      }
      const stream = await client.chat.completions.create({ model: 'mistral', messages: [{ role: 'user', content: 'a b' }], logprobs: true, stream: true });
      const streamed = [];
      for await (const chunk of stream) streamed.push(...(chunk.choices[0]?.logprobs?.content ?? []));
      expect(streamed.map((token) => token.token).join('')).toBe('Echo: a b');
    });
  });

  describe('images', () => {
    it('sends an image part (data URL) to Ollama as base64', async () => {
      await start();
      await client.chat.completions.create({
        model: 'llava',
        messages: [{ role: 'user', content: [{ type: 'text', text: 'What is this?' }, { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG}` } }] }],
      });
      expect(fake.chatRequests()[0].body.messages).toEqual([{ role: 'user', content: 'What is this?', images: [PNG] }]);
      expect(await rows()).toEqual([expect.objectContaining({ prompt: 'What is this?', status: 'ok' })]);
    });
  });

  describe('bad input: 400 naming the field, nothing sent, nothing stored', () => {
    const image = (url: string) => [{ role: 'user' as const, content: [{ type: 'image_url' as const, image_url: { url } }] }];

    it.each([
      ['a tool without a name', { tools: [{ type: 'function', function: { parameters: { type: 'object' } } }] }, 'tools.0.function.name'],
      ['parameters that are not an object', { tools: [{ type: 'function', function: { name: 'f', parameters: 'city' } }] }, 'tools.0.function.parameters'],
      ['arguments that are not JSON', { messages: [{ role: 'user', content: 'x' }, { role: 'assistant', content: null, tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{' } }] }] }, 'messages.1.tool_calls.0.function.arguments'],
      ['a tool result for no call', { messages: [{ role: 'user', content: 'x' }, { role: 'tool', tool_call_id: 'call_x', content: '1' }] }, 'messages.1.tool_call_id'],
      ['an image that is not an image', { model: 'llava', messages: image(`data:image/png;base64,${Buffer.from('not an image at all').toString('base64')}`) }, 'messages.0.content.0.image_url.url'],
      ['an image URL to a private address', { model: 'llava', messages: image('https://10.1.2.3/cat.png') }, 'messages.0.content.0.image_url.url'],
      ['a required tool call with a JSON response_format', { tools: [weatherTool], tool_choice: 'required', response_format: { type: 'json_object' } }, 'tool_choice'],
    ])('%s', async (_name, patch, param) => {
      await start();
      const error = await failure(() => client.chat.completions.create({ model: 'qwen3', messages: [{ role: 'user', content: 'x' }], ...patch } as never));
      expect({ status: error.status, param: error.param }).toEqual({ status: 400, param });
      expect(fake.chatRequests()).toHaveLength(0);
      expect(await rows()).toEqual([]);
    });

    it('a 20 MB image is refused naming the field', async () => {
      await start();
      const big = Buffer.alloc(20 * 1024 * 1024);
      Buffer.from(PNG, 'base64').copy(big);
      const error = await failure(() => client.chat.completions.create({ model: 'llava', messages: image(`data:image/png;base64,${big.toString('base64')}`) }));
      expect(error.status).toBe(400);
      expect(error.message).toContain('IMAGE_MAX_BYTES');
      expect(error.param).toBe('messages.0.content.0.image_url.url');
      expect(fake.chatRequests()).toHaveLength(0);
      expect(await rows()).toEqual([]);
    });
  });
});
