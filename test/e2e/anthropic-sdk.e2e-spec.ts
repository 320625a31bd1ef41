import Anthropic, { BadRequestError, ContentTooLargeError, NotFoundError } from '@anthropic-ai/sdk';
import type { MessageParam, Tool } from '@anthropic-ai/sdk/resources/messages';
import { fetch as undiciFetch } from 'undici';
import type { ChatRequestBody, FakeAnswer } from '../support/fake-ollama';
import { FixtureServer } from '../support/fixture-server';
import { PNG } from '../support/images';
import { queryDb } from '../support/sqlite';
import { TEST_API_KEY, TestApp, useAppWithFakeOllama } from '../support/test-app';

interface Row {
  id: number;
  prompt: string;
  response: string;
  session_id: string;
  source: string;
  status: string;
}

const weatherTool: Tool = {
  name: 'get_weather',
  description: 'The weather in a city.',
  input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};

/** The model: asks for the weather until it has a tool result, then answers from it. */
function respond(req: ChatRequestBody): FakeAnswer {
  const last = req.messages?.at(-1);
  if (last?.role === 'tool') return { content: `It is ${String(last.content)} in Oslo.` };
  if (Array.isArray(req.tools) && req.tools.length > 0 && String(last?.content).includes('weather')) {
    return { toolCalls: [{ name: 'get_weather', arguments: { city: 'Oslo' } }] };
  }
  return {};
}

/**
 * The unmodified Anthropic SDK against POST /v1/messages and /v1/messages/count_tokens, the
 * fake Ollama behind Vega: what the SDK gets back (plain, streamed, tools, images, thinking,
 * stop reasons), what reaches Ollama, and what is stored.
 */
describe('Anthropic SDK: /v1/messages', () => {
  const harness = useAppWithFakeOllama({
    models: [
      'mistral',
      { name: 'qwen3', capabilities: ['completion', 'tools', 'thinking'] },
      { name: 'llava', capabilities: ['completion', 'vision'] },
    ],
    respond,
  });
  const { fake } = harness;
  const site = new FixtureServer({ '/cat.png': { headers: { 'content-type': 'image/png' }, body: PNG } });
  let t: TestApp | undefined;
  let client: Anthropic;

  beforeAll(() => site.start());
  afterAll(() => site.stop());

  const start = async (env: Record<string, string> = {}) => {
    t = await harness.start(env);
    client = new Anthropic({
      baseURL: t.url,
      apiKey: TEST_API_KEY,
      maxRetries: 0,
      timeout: 20_000,
      fetch: undiciFetch as unknown as typeof fetch,
      fetchOptions: { dispatcher: harness.dispatcher() } as unknown as Anthropic['fetchOptions'],
    });
  };
  const rows = () => queryDb<Row>(t!.dbPath, 'SELECT * FROM conversations ORDER BY id');
  const stored = async (id: number) => (await t!.request(`/conversations/${id}`)).json();

  it('messages.create: the message object, stored with source anthropic and found by search', async () => {
    await start();
    const message = await client.messages.create({
      model: 'mistral',
      max_tokens: 64,
      system: 'Be brief.',
      messages: [{ role: 'user', content: 'hello lighthouse keeper' }],
    });
    expect(message).toEqual({
      id: expect.stringMatching(/^msg_[0-9a-f]{24}$/),
      type: 'message',
      role: 'assistant',
      model: 'mistral',
      content: [{ type: 'text', text: 'Echo: hello lighthouse keeper' }],
      stop_reason: 'end_turn',
      stop_sequence: null,
      usage: { input_tokens: expect.any(Number), output_tokens: expect.any(Number) },
    });
    expect(message.usage.input_tokens).toBeGreaterThan(0);
    const sent = fake.chatRequests()[0].body as ChatRequestBody;
    expect(sent.messages).toEqual([
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'hello lighthouse keeper' },
    ]);
    expect(sent.options).toMatchObject({ num_predict: 64 });
    const [row] = await rows();
    expect(row).toMatchObject({ source: 'anthropic', status: 'ok', prompt: 'hello lighthouse keeper', response: 'Echo: hello lighthouse keeper', session_id: message.id.slice(4) });
    const found = await (await t!.request('/history?q=lighthouse&source=anthropic')).json();
    expect(found.items.map((item: { id: number }) => item.id)).toEqual([row.id]);
  });

  it('.stream(): text events, finalMessage(), and the SSE events in Anthropic\'s order', async () => {
    await start();
    // A pause between chunks: each arrives on its own, as a model writes them.
    fake.enqueue({ kind: 'slow', delayMs: 15 });
    const stream = client.messages.stream({ model: 'mistral', max_tokens: 64, messages: [{ role: 'user', content: 'stream me please' }] });
    const texts: string[] = [];
    stream.on('text', (delta) => texts.push(delta));
    const final = await stream.finalMessage();
    expect(texts.join('')).toBe('Echo: stream me please');
    expect(texts.length).toBeGreaterThan(1);
    expect(final).toMatchObject({ content: [{ type: 'text', text: 'Echo: stream me please' }], stop_reason: 'end_turn', stop_sequence: null });
    expect(final.usage.output_tokens).toBeGreaterThan(0);

    const res = await t!.request('/v1/messages', { body: { model: 'mistral', max_tokens: 64, stream: true, messages: [{ role: 'user', content: 'raw' }] } });
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const events = [...(await res.text()).matchAll(/^event: (\S+)\ndata: (.*)$/gm)].map(([, name, data]) => [name, JSON.parse(data).type]);
    expect(events.every(([name, type]) => name === type)).toBe(true);
    expect(events.map(([name]) => name)).toEqual([
      'message_start',
      'ping',
      'content_block_start',
      ...Array(events.length - 6).fill('content_block_delta'),
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    expect((await rows()).map((row) => [row.source, row.status])).toEqual([
      ['anthropic', 'ok'],
      ['anthropic', 'ok'],
    ]);
  });

  it('tools round trip: tool_use comes back, the tool_result goes to Ollama as a tool message naming the function', async () => {
    await start();
    const question: MessageParam = { role: 'user', content: "What's the weather in Oslo?" };
    const first = await client.messages.create({ model: 'qwen3', max_tokens: 100, tools: [weatherTool], thinking: { type: 'disabled' }, messages: [question] });
    expect(first.stop_reason).toBe('tool_use');
    expect(first.content).toEqual([{ type: 'tool_use', id: expect.stringMatching(/^call_/), name: 'get_weather', input: { city: 'Oslo' } }]);
    const use = first.content[0] as Anthropic.ToolUseBlock;

    const stream = client.messages.stream({
      model: 'qwen3',
      max_tokens: 100,
      tools: [weatherTool],
      thinking: { type: 'disabled' },
      messages: [question, { role: 'assistant', content: first.content }, { role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: '12 °C' }] }],
    });
    const second = await stream.finalMessage();
    expect(second).toMatchObject({ stop_reason: 'end_turn', content: [{ type: 'text', text: 'It is 12 °C in Oslo.' }] });

    const sent = fake.chatRequests()[1].body as ChatRequestBody;
    expect(sent.tools).toEqual([{ type: 'function', function: { name: 'get_weather', description: weatherTool.description, parameters: weatherTool.input_schema } }]);
    expect(sent.think).toBe(false);
    expect(sent.messages!.slice(1)).toEqual([
      expect.objectContaining({ role: 'assistant', content: '', tool_calls: [expect.objectContaining({ function: expect.objectContaining({ name: 'get_weather', arguments: { city: 'Oslo' } }) })] }),
      expect.objectContaining({ role: 'tool', content: '12 °C', tool_call_id: use.id, tool_name: 'get_weather' }),
    ]);
    const [firstRow, secondRow] = await rows();
    expect((await stored(firstRow.id)).answer).toEqual({ text: '', finish_reason: 'tool_calls', tool_calls: [{ id: use.id, name: 'get_weather', arguments: { city: 'Oslo' } }] });
    expect((await stored(secondRow.id)).request).toMatchObject({
      model: 'qwen3',
      think: false,
      tools: [{ name: 'get_weather', parameters: weatherTool.input_schema }],
      messages: [
        { role: 'user', content: question.content },
        { role: 'assistant', content: '', tool_calls: [{ id: use.id, name: 'get_weather', arguments: { city: 'Oslo' } }] },
        { role: 'tool', content: '12 °C', tool_call_id: use.id, tool_name: 'get_weather' },
      ],
    });
  });

  it('a streamed tool call is a tool_use block with its input as input_json_delta', async () => {
    await start();
    const stream = client.messages.stream({ model: 'qwen3', max_tokens: 100, tools: [weatherTool], tool_choice: { type: 'any' }, thinking: { type: 'disabled' }, messages: [{ role: 'user', content: 'weather?' }] });
    const inputs: unknown[] = [];
    stream.on('inputJson', (_partial, snapshot) => inputs.push(snapshot));
    const final = await stream.finalMessage();
    expect(final.stop_reason).toBe('tool_use');
    expect(final.content).toEqual([{ type: 'tool_use', id: expect.stringMatching(/^call_/), name: 'get_weather', input: { city: 'Oslo' } }]);
    expect(inputs).toEqual([{ city: 'Oslo' }]);
  });

  it('images: a base64 block and a url block (fetched from an allowed site) reach Ollama as images; the stored request keeps references', async () => {
    await start({ FETCH_ALLOW_HOSTS: `127.0.0.1:${site.port}` });
    const message = await client.messages.create({
      model: 'llava',
      max_tokens: 64,
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'Compare these.' },
            { type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG.toString('base64') } },
            { type: 'image', source: { type: 'url', url: site.url('/cat.png') } },
          ],
        },
      ],
    });
    expect(message.content).toEqual([{ type: 'text', text: 'Echo: Compare these.' }]);
    expect(fake.chatRequests()[0].body.messages).toEqual([{ role: 'user', content: 'Compare these.', images: [PNG.toString('base64'), PNG.toString('base64')] }]);
    const [row] = await rows();
    const image = { mime: 'image/png', bytes: PNG.length, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) };
    expect((await stored(row.id)).request.messages).toEqual([{ role: 'user', content: 'Compare these.', images: [image, image] }]);
  });

  it('an image URL to a site that is not allowed is a 400 naming the block', async () => {
    await start();
    const error = await client.messages
      .create({ model: 'llava', max_tokens: 64, messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'url', url: site.url('/cat.png') } }] }] })
      .catch((failure: unknown) => failure);
    expect(error).toBeInstanceOf(BadRequestError);
    expect((error as BadRequestError).message).toContain('messages.0.content.0.source.url');
    expect(fake.chatRequests()).toHaveLength(0);
  });

  it('a prompt over MAX_PROMPT_CHARS is a 413 before any image is fetched', async () => {
    await start({ FETCH_ALLOW_HOSTS: `127.0.0.1:${site.port}`, MAX_PROMPT_CHARS: '10' });
    site.requests.length = 0;
    const error = await client.messages
      .create({
        model: 'llava',
        max_tokens: 64,
        messages: [{ role: 'user', content: [{ type: 'text', text: 'far more than ten characters' }, { type: 'image', source: { type: 'url', url: site.url('/cat.png') } }] }],
      })
      .catch((failure: unknown) => failure);
    expect(error).toBeInstanceOf(ContentTooLargeError);
    expect((error as ContentTooLargeError).error).toMatchObject({ type: 'error', error: { type: 'request_too_large', message: expect.stringContaining('MAX_PROMPT_CHARS') } });
    expect(site.requests).toHaveLength(0);
    expect(fake.chatRequests()).toHaveLength(0);
  });

  it('thinking: a thinking block with a signature; streamed as thinking_delta then signature_delta; sent back as Ollama thinking', async () => {
    await start();
    fake.enqueue({ kind: 'answer', answer: { thinking: 'Let me think.', content: 'Blue.' } });
    const message = await client.messages.create({
      model: 'qwen3',
      max_tokens: 2048,
      thinking: { type: 'enabled', budget_tokens: 1024 },
      messages: [{ role: 'user', content: 'Sky colour?' }],
    });
    expect(message.content).toEqual([
      { type: 'thinking', thinking: 'Let me think.', signature: expect.stringMatching(/.+/) },
      { type: 'text', text: 'Blue.' },
    ]);
    expect(fake.chatRequests()[0].body.think).toBe(true);

    fake.enqueue({ kind: 'answer', answer: { thinking: 'Again thinking.', content: 'Still blue.' } });
    const stream = client.messages.stream({
      model: 'qwen3',
      max_tokens: 2048,
      thinking: { type: 'enabled', budget_tokens: 1024 },
      messages: [{ role: 'user', content: 'Sky colour?' }, { role: 'assistant', content: message.content }, { role: 'user', content: 'Sure?' }],
    });
    const thoughts: string[] = [];
    const signatures: string[] = [];
    stream.on('thinking', (delta) => thoughts.push(delta));
    stream.on('signature', (signature) => signatures.push(signature));
    const final = await stream.finalMessage();
    expect(thoughts.join('')).toBe('Again thinking.');
    expect(signatures).toHaveLength(1);
    expect(final.content).toEqual([
      { type: 'thinking', thinking: 'Again thinking.', signature: signatures[0] },
      { type: 'text', text: 'Still blue.' },
    ]);
    expect(fake.chatRequests()[1].body.messages[1]).toEqual({ role: 'assistant', content: 'Blue.', thinking: 'Let me think.' });
    const [, row] = await rows();
    expect(await stored(row.id)).toMatchObject({ request: { think: true }, answer: { thinking: 'Again thinking.', text: 'Still blue.' } });
  });

  it('stop_sequences: the answer ends before the sequence, stop_reason stop_sequence names it, also across chunks when streamed', async () => {
    await start();
    const message = await client.messages.create({
      model: 'mistral',
      max_tokens: 64,
      stop_sequences: ['never', 'three'],
      messages: [{ role: 'user', content: 'one two three four' }],
    });
    expect(message).toMatchObject({ content: [{ type: 'text', text: 'Echo: one two ' }], stop_reason: 'stop_sequence', stop_sequence: 'three' });
    // Vega watches for the sequences itself: Ollama would hide which one it hit.
    expect(fake.chatRequests()[0].body.options.stop).toBeUndefined();

    // The words arrive one per chunk: "two th" could begin "two three" and is held back until it cannot.
    fake.enqueue({ kind: 'slow', delayMs: 15 });
    const stream = client.messages.stream({ model: 'mistral', max_tokens: 64, stop_sequences: ['two three'], messages: [{ role: 'user', content: 'one two thrice two three four' }] });
    const final = await stream.finalMessage();
    expect(final).toMatchObject({ content: [{ type: 'text', text: 'Echo: one two thrice ' }], stop_reason: 'stop_sequence', stop_sequence: 'two three' });
    expect((await rows()).map((row) => [row.status, row.response])).toEqual([
      ['ok', 'Echo: one two '],
      ['ok', 'Echo: one two thrice '],
    ]);
    // Not sent, yet asked for: the stored request keeps the sequences, the answer the one it hit.
    const [first] = await rows();
    expect(await stored(first.id)).toMatchObject({
      request: { options: { stop: ['never', 'three'] } },
      answer: { text: 'Echo: one two ', finish_reason: 'stop', stop_sequence: 'three' },
    });
  });

  it('a sequence the answer never completes is held back only until the answer ends', async () => {
    await start();
    const message = await client.messages.create({ model: 'mistral', max_tokens: 64, stop_sequences: ['keeper!'], messages: [{ role: 'user', content: 'the keeper' }] });
    expect(message).toMatchObject({ content: [{ type: 'text', text: 'Echo: the keeper' }], stop_reason: 'end_turn', stop_sequence: null });
  });

  it('max_tokens cuts the answer: stop_reason max_tokens', async () => {
    await start();
    const message = await client.messages.create({ model: 'mistral', max_tokens: 2, messages: [{ role: 'user', content: 'a long answer please' }] });
    expect(message.stop_reason).toBe('max_tokens');
    expect(fake.chatRequests()[0].body.options.num_predict).toBe(2);
    const stream = client.messages.stream({ model: 'mistral', max_tokens: 2, messages: [{ role: 'user', content: 'a long answer please' }] });
    expect((await stream.finalMessage()).stop_reason).toBe('max_tokens');
  });

  it('models.list and models.retrieve: the backend\'s models as Anthropic model objects, on the route the OpenAI SDK reads too', async () => {
    await start();
    const listed = [];
    for await (const model of client.models.list()) listed.push(model);
    expect(listed.map((model) => model.id)).toEqual(['llava:latest', 'mistral:latest', 'qwen3:latest']);
    for (const model of listed) {
      expect(model).toMatchObject({ type: 'model', display_name: model.id, created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/) });
    }
    const one = await client.models.retrieve('mistral');
    expect(one).toMatchObject({ type: 'model', id: 'mistral:latest', display_name: 'mistral:latest' });
    await expect(client.models.retrieve('no-such-model')).rejects.toBeInstanceOf(NotFoundError);
  });

  it('countTokens: an estimate that grows with the prompt; nothing is generated or stored', async () => {
    await start();
    const small = await client.messages.countTokens({ model: 'mistral', messages: [{ role: 'user', content: 'hi' }] });
    const large = await client.messages.countTokens({
      model: 'mistral',
      system: 'You are a careful assistant.',
      tools: [weatherTool],
      messages: [{ role: 'user', content: 'hi '.repeat(300) }],
    });
    expect(small.input_tokens).toBeGreaterThan(0);
    expect(large.input_tokens).toBeGreaterThan(small.input_tokens + 300);
    expect(fake.chatRequests()).toHaveLength(0);
    expect(await rows()).toHaveLength(0);
    await expect(client.messages.countTokens({ model: 'nope', messages: [{ role: 'user', content: 'hi' }] })).rejects.toBeInstanceOf(NotFoundError);
  });
});
