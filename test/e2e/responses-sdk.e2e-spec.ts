import OpenAI, { APIError, AuthenticationError, BadRequestError, NotFoundError, type ClientOptions } from 'openai';
import { zodTextFormat } from 'openai/helpers/zod';
import type { FunctionTool, ResponseStreamEvent } from 'openai/resources/responses/responses';
import { Agent, fetch as undiciFetch } from 'undici';
import { z } from 'zod';
import { FakeOllama, type ChatRequestBody, type FakeAnswer } from '../support/fake-ollama';
import { Metrics } from '../support/prometheus';
import { queryDb } from '../support/sqlite';
import { startTestApp, TEST_API_KEY, TestApp } from '../support/test-app';
import { failureOf } from '../support/failure';

interface Row {
  id: number;
  prompt: string;
  response: string;
  source: string;
  session_id: string;
  status: string;
  response_id: string | null;
}

const weatherTool: FunctionTool = {
  type: 'function',
  name: 'get_weather',
  description: 'The weather in a city.',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  strict: false,
};

/** The model: asks for the weather until it has a tool result, thinks aloud about a riddle, else echoes. */
function respond(req: ChatRequestBody): FakeAnswer {
  const last = req.messages?.at(-1);
  if (last?.role === 'tool') return { content: `It is ${String(last.content)} in Oslo.` };
  if (Array.isArray(req.tools) && req.tools.length > 0 && String(last?.content).includes('weather')) {
    return { toolCalls: [{ name: 'get_weather', arguments: { city: 'Oslo' } }] };
  }
  if (String(last?.content).includes('riddle')) return { thinking: 'A riddle wants a short answer.', content: 'A map.' };
  return {};
}

/** The unmodified OpenAI SDK's `client.responses` against Vega's /v1/responses, the fake Ollama behind it. */
describe('OpenAI SDK: the Responses API (/v1/responses)', () => {
  const fake = new FakeOllama({ models: ['mistral', { name: 'qwen3', capabilities: ['completion', 'tools', 'thinking'] }], respond });
  const agents: Agent[] = [];
  let t: TestApp;
  let client: OpenAI;

  const clientFor = (apiKey: string) => {
    const agent = new Agent();
    agents.push(agent);
    return new OpenAI({
      baseURL: `${t.url}/v1`,
      apiKey,
      maxRetries: 0,
      timeout: 20_000,
      fetch: undiciFetch as unknown as typeof fetch,
      fetchOptions: { dispatcher: agent } as unknown as ClientOptions['fetchOptions'],
    });
  };

  beforeAll(async () => {
    await fake.start();
    t = await startTestApp({ OLLAMA_URL: fake.url });
    client = clientFor(TEST_API_KEY);
  });
  afterAll(async () => {
    await t.close();
    await Promise.all(agents.splice(0).map((agent) => agent.destroy()));
    await fake.stop();
  });
  afterEach(() => fake.reset());

  const rowOf = async (responseId: string) => (await queryDb<Row>(t.dbPath, 'SELECT * FROM conversations WHERE response_id = ?', [responseId]))[0];
  const lastChat = () => fake.chatRequests().at(-1)!.body as ChatRequestBody;

  const failure = (call: () => Promise<unknown>): Promise<APIError> => failureOf(call, APIError);

  /** The raw SSE frames of a streamed request: event name and parsed data. */
  async function rawEvents(body: Record<string, unknown>): Promise<{ event: string; data: Record<string, unknown> }[]> {
    const response = await t.request('/v1/responses', { method: 'POST', body: { ...body, stream: true } });
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const text = await response.text();
    return text
      .split('\n\n')
      .filter((frame) => frame.startsWith('event: '))
      .map((frame) => {
        const [eventLine, dataLine] = frame.split('\n');
        return { event: eventLine.slice('event: '.length), data: JSON.parse(dataLine.slice('data: '.length)) as Record<string, unknown> };
      });
  }

  describe('responses.create', () => {
    it('answers a string input with a message; output_text, usage and the stored exchange (source responses, its response id, searchable)', async () => {
      const response = await client.responses.create({ model: 'mistral', input: 'Say hello to the quokka' });
      expect(response).toMatchObject({
        id: expect.stringMatching(/^resp_[0-9a-f]{24}$/),
        object: 'response',
        status: 'completed',
        model: 'mistral',
        store: true,
        output: [{ type: 'message', id: expect.stringMatching(/^msg_/), role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'Echo: Say hello to the quokka' }] }],
      });
      expect(response.output_text).toBe('Echo: Say hello to the quokka');
      expect(response.usage).toMatchObject({ input_tokens: expect.any(Number), output_tokens: expect.any(Number) });
      expect(response.usage!.total_tokens).toBe(response.usage!.input_tokens + response.usage!.output_tokens);

      const row = await rowOf(response.id);
      expect(row).toMatchObject({ source: 'responses', status: 'ok', prompt: 'Say hello to the quokka', response: 'Echo: Say hello to the quokka' });
      const search = await (await t.request('/history?source=responses&q=quokka')).json();
      expect(search.items.map((item: { id: number }) => item.id)).toContain(row.id);
      expect((await (await t.request(`/conversations/${row.id}`)).json()).response_id).toBe(response.id);
    });

    it('sends instructions first, maps the sampling fields, and accepts store:false (Vega stores every exchange: store is true)', async () => {
      const response = await client.responses.create({
        model: 'mistral',
        instructions: 'Answer briefly.',
        input: [{ role: 'developer', content: 'Be kind.' }, { role: 'user', content: [{ type: 'input_text', text: 'Hi there' }] }],
        temperature: 0.3,
        top_p: 0.8,
        max_output_tokens: 50,
        store: false,
      });
      expect(response).toMatchObject({ status: 'completed', store: true, temperature: 0.3, top_p: 0.8, max_output_tokens: 50, instructions: 'Answer briefly.' });
      const sent = lastChat();
      expect(sent.messages).toEqual([
        expect.objectContaining({ role: 'system', content: 'Answer briefly.' }),
        expect.objectContaining({ role: 'system', content: 'Be kind.' }),
        expect.objectContaining({ role: 'user', content: 'Hi there' }),
      ]);
      expect(sent.options).toMatchObject({ temperature: 0.3, top_p: 0.8, num_predict: 50 });
      expect(await rowOf(response.id)).toMatchObject({ status: 'ok' });
    });

    it('is counted in the metrics under its own route templates', async () => {
      const created = await client.responses.create({ model: 'mistral', input: 'count me' });
      await client.responses.retrieve(created.id);
      const metrics = new Metrics(await (await t.request('/metrics', { key: null })).text());
      expect(metrics.value('vega_http_requests_total', { method: 'POST', route: '/v1/responses', status: '200' })).toBeGreaterThanOrEqual(1);
      expect(metrics.value('vega_http_requests_total', { method: 'GET', route: '/v1/responses/:id', status: '200' })).toBeGreaterThanOrEqual(1);
      expect(metrics.value('vega_llm_requests_total', { model: 'mistral', outcome: 'ok' })).toBeGreaterThanOrEqual(1);
    });

    it('ends as incomplete (max_output_tokens) when num_predict cuts the answer', async () => {
      const response = await client.responses.create({ model: 'mistral', input: 'one two three four five six seven', max_output_tokens: 2 });
      expect(response).toMatchObject({ status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' }, output: [{ type: 'message', status: 'incomplete' }] });
    });
  });

  describe('streaming', () => {
    it('create({stream: true}): every event named and numbered in order, created first, completed last with the whole response', async () => {
      const stream = await client.responses.create({ model: 'mistral', input: 'stream me please', stream: true });
      const events: ResponseStreamEvent[] = [];
      for await (const event of stream) events.push(event);
      expect(events.map((event) => event.sequence_number)).toEqual(events.map((_event, index) => index));
      const types = events.map((event) => event.type);
      expect(types.slice(0, 4)).toEqual(['response.created', 'response.in_progress', 'response.output_item.added', 'response.content_part.added']);
      expect(types.slice(-4)).toEqual(['response.output_text.done', 'response.content_part.done', 'response.output_item.done', 'response.completed']);
      const text = events.flatMap((event) => (event.type === 'response.output_text.delta' ? [event.delta] : [])).join('');
      expect(text).toBe('Echo: stream me please');
      const completed = events.at(-1) as Extract<ResponseStreamEvent, { type: 'response.completed' }>;
      expect(completed.response.output).toEqual([expect.objectContaining({ type: 'message', content: [expect.objectContaining({ text })] })]);
      expect(await rowOf(completed.response.id)).toMatchObject({ status: 'ok', response: text });
    });

    it('sends an `event:` line with each frame, the same name as the data type', async () => {
      const frames = await rawEvents({ model: 'mistral', input: 'wire check' });
      expect(frames.length).toBeGreaterThan(6);
      for (const frame of frames) expect(frame.data.type).toBe(frame.event);
    });

    it('client.responses.stream(): text events and finalResponse()', async () => {
      const deltas: string[] = [];
      const stream = client.responses.stream({ model: 'mistral', input: 'helper stream' });
      stream.on('response.output_text.delta', (event) => deltas.push(event.delta));
      const final = await stream.finalResponse();
      expect(final.status).toBe('completed');
      expect(final.output_text).toBe('Echo: helper stream');
      expect(deltas.join('')).toBe('Echo: helper stream');
    });

    it('a backend failure after the first token: an error event, then response.failed; the SDK raises an APIError; stored as error', async () => {
      fake.enqueue({ kind: 'error_line', afterChunks: 2, message: 'model runner crashed' });
      const frames = await rawEvents({ model: 'mistral', input: 'this will break midway' });
      expect(frames.slice(-2).map((frame) => frame.event)).toEqual(['error', 'response.failed']);
      expect(frames.at(-2)!.data).toMatchObject({ type: 'error', message: expect.stringContaining('model runner crashed'), code: expect.any(String) });
      const failed = frames.at(-1)!.data.response as { id: string; status: string; error: { code: string } };
      expect(failed).toMatchObject({ status: 'failed', error: { code: expect.any(String) } });
      expect(await rowOf(failed.id)).toMatchObject({ status: 'error' });

      fake.enqueue({ kind: 'error_line', afterChunks: 2, message: 'model runner crashed' });
      const error = await failure(async () => {
        for await (const _event of await client.responses.create({ model: 'mistral', input: 'this will break too', stream: true })) {
          // consume
        }
      });
      expect(error.message).toContain('model runner crashed');
    });
  });

  describe('function tools', () => {
    it('round trip with previous_response_id: the call comes back as a function_call item, its output goes to Ollama after the stored turns', async () => {
      const first = await client.responses.create({ model: 'qwen3', input: "What's the weather in Oslo?", tools: [weatherTool], reasoning: { effort: 'none' } });
      expect(first.output).toEqual([
        { type: 'function_call', id: expect.stringMatching(/^fc_/), call_id: expect.stringMatching(/^call_/), name: 'get_weather', arguments: '{"city":"Oslo"}', status: 'completed' },
      ]);
      const call = first.output[0] as { call_id: string };

      const second = await client.responses.create({
        model: 'qwen3',
        previous_response_id: first.id,
        tools: [weatherTool],
        input: [{ type: 'function_call_output', call_id: call.call_id, output: '12 °C' }],
      });
      expect(second.output_text).toBe('It is 12 °C in Oslo.');
      const sent = lastChat();
      expect(sent.tools).toEqual([{ type: 'function', function: { name: 'get_weather', description: weatherTool.description, parameters: weatherTool.parameters } }]);
      expect(sent.messages).toEqual([
        expect.objectContaining({ role: 'user', content: "What's the weather in Oslo?" }),
        expect.objectContaining({ role: 'assistant', tool_calls: [expect.objectContaining({ function: expect.objectContaining({ name: 'get_weather', arguments: { city: 'Oslo' } }) })] }),
        expect.objectContaining({ role: 'tool', content: '12 °C', tool_name: 'get_weather' }),
      ]);
      // One conversation in the history: the second exchange keeps the first one's session.
      const [a, b] = [await rowOf(first.id), await rowOf(second.id)];
      expect(b.session_id).toBe(a.session_id);
      // Its prompt is the question the tool output answers.
      expect(b.prompt).toBe("What's the weather in Oslo?");
      const stored = await (await t.request(`/conversations/${b.id}`)).json();
      expect(stored.request.messages.at(-1)).toMatchObject({ role: 'tool', tool_call_id: call.call_id, tool_name: 'get_weather' });
    });

    it('round trip with the items replayed by the client (stateless): function_call then function_call_output', async () => {
      const first = await client.responses.create({ model: 'qwen3', input: 'weather please', tools: [weatherTool] });
      // qwen3 thinks first: the output is a reasoning item, then the call; both are sent back as they came.
      expect(first.output.map((item) => item.type)).toEqual(['reasoning', 'function_call']);
      const call = first.output[1] as { call_id: string };
      const second = await client.responses.create({
        model: 'qwen3',
        tools: [weatherTool],
        input: [{ role: 'user', content: 'weather please' }, ...(first.output as never[]), { type: 'function_call_output', call_id: call.call_id, output: '3 °C' }],
      });
      expect(second.output_text).toBe('It is 3 °C in Oslo.');
      const thought = (first.output[0] as { summary: { text: string }[] }).summary[0].text;
      expect(lastChat().messages!.slice(1)).toEqual([
        expect.objectContaining({ role: 'assistant', content: '', thinking: thought, tool_calls: [expect.objectContaining({ id: call.call_id })] }),
        expect.objectContaining({ role: 'tool', content: '3 °C', tool_call_id: call.call_id, tool_name: 'get_weather' }),
      ]);
    });

    it('streams a call as added → arguments delta → arguments done → item done, and responses.stream() accepts it', async () => {
      const frames = await rawEvents({ model: 'qwen3', input: 'weather in Oslo?', tools: [weatherTool], reasoning: { effort: 'none' } });
      const types = frames.map((frame) => frame.event);
      const added = types.indexOf('response.output_item.added');
      expect(frames[added].data).toMatchObject({ output_index: 0, item: { type: 'function_call', arguments: '', status: 'in_progress' } });
      expect(types.slice(added, added + 4)).toEqual([
        'response.output_item.added',
        'response.function_call_arguments.delta',
        'response.function_call_arguments.done',
        'response.output_item.done',
      ]);
      expect(frames[added + 2].data).toMatchObject({ name: 'get_weather', arguments: '{"city":"Oslo"}' });
      const final = await client.responses.stream({ model: 'qwen3', input: 'weather in Oslo?', tools: [weatherTool] }).finalResponse();
      // qwen3 thinks by default: a reasoning item, done before the call is added.
      expect(final.output).toEqual([expect.objectContaining({ type: 'reasoning' }), expect.objectContaining({ type: 'function_call', name: 'get_weather', arguments: '{"city":"Oslo"}' })]);
    });
  });

  describe('previous_response_id', () => {
    it('continues a stored conversation: the backend sees the earlier question and answer, not the earlier instructions', async () => {
      const first = await client.responses.create({ model: 'mistral', instructions: 'Old rules.', input: 'My name is Ada.' });
      const second = await client.responses.create({ model: 'mistral', previous_response_id: first.id, input: 'What is my name?' });
      expect(second.previous_response_id).toBe(first.id);
      expect(lastChat().messages).toEqual([
        expect.objectContaining({ role: 'user', content: 'My name is Ada.' }),
        expect.objectContaining({ role: 'assistant', content: 'Echo: My name is Ada.' }),
        expect.objectContaining({ role: 'user', content: 'What is my name?' }),
      ]);
    });

    it('an unknown id is a NotFoundError naming previous_response_id', async () => {
      const error = await failure(() => client.responses.create({ model: 'mistral', previous_response_id: 'resp_0000000000000000deadbeef', input: 'hi' }));
      expect(error).toBeInstanceOf(NotFoundError);
      expect(error.error).toMatchObject({ param: 'previous_response_id', code: 'previous_response_not_found', message: "Previous response with id 'resp_0000000000000000deadbeef' not found." });
    });
  });

  describe('text.format and reasoning', () => {
    it('json_schema (strict) with zodTextFormat: Ollama gets the schema as format, responses.parse gives the parsed object', async () => {
      const City = z.object({ city: z.string(), population: z.number() });
      const response = await client.responses.parse({ model: 'mistral', input: 'A city, as JSON', text: { format: zodTextFormat(City, 'city') } });
      expect(response.output_parsed).toEqual(City.parse(JSON.parse(response.output_text)));
      expect(lastChat().format).toMatchObject({ type: 'object', properties: { city: { type: 'string' }, population: { type: 'number' } } });
    });

    it('reasoning.effort → think; the reasoning comes back as a reasoning item before the message, and streams as summary deltas', async () => {
      const response = await client.responses.create({ model: 'qwen3', input: 'Solve this riddle', reasoning: { effort: 'high' } });
      expect(lastChat().think).toBe('high');
      expect(response.output).toEqual([
        { type: 'reasoning', id: expect.stringMatching(/^rs_/), summary: [{ type: 'summary_text', text: 'A riddle wants a short answer.' }] },
        expect.objectContaining({ type: 'message', content: [expect.objectContaining({ text: 'A map.' })] }),
      ]);
      expect(response.reasoning).toMatchObject({ effort: 'high' });

      const reasoning: string[] = [];
      const stream = client.responses.stream({ model: 'qwen3', input: 'Another riddle', reasoning: { effort: 'low' } });
      stream.on('response.reasoning_summary_text.delta', (event) => reasoning.push(event.delta));
      const final = await stream.finalResponse();
      expect(reasoning.join('')).toBe('A riddle wants a short answer.');
      expect(final.output.map((item) => item.type)).toEqual(['reasoning', 'message']);
      expect(final.output_text).toBe('A map.');

      // On the wire: the reasoning item is done before the message is added, each item's events in order.
      const items = (await rawEvents({ model: 'qwen3', input: 'A third riddle' }))
        .filter((frame) => frame.event.startsWith('response.output_item.'))
        .map((frame) => `${frame.event.slice('response.output_item.'.length)} ${(frame.data.item as { type: string }).type}`);
      expect(items).toEqual(['added reasoning', 'done reasoning', 'added message', 'done message']);
    });
  });

  describe('retrieve and delete', () => {
    it('retrieve rebuilds the response from the stored exchange with the same ids; delete removes it (and its history row); a second retrieve is a NotFoundError', async () => {
      const created = await client.responses.create({ model: 'qwen3', input: 'Tell me a riddle', reasoning: { effort: 'medium' } });
      const retrieved = await client.responses.retrieve(created.id);
      expect(retrieved).toMatchObject({ id: created.id, object: 'response', status: 'completed', model: 'qwen3', output: created.output, usage: created.usage });
      expect(retrieved.output_text).toBe(created.output_text);

      const row = await rowOf(created.id);
      const deleted = await t.request(`/v1/responses/${created.id}`, { method: 'DELETE' });
      expect(deleted.status).toBe(200);
      expect(await deleted.json()).toEqual({ id: created.id, object: 'response', deleted: true });
      expect(await queryDb(t.dbPath, 'SELECT id FROM conversations WHERE id = ?', [row.id])).toEqual([]);

      const error = await failure(() => client.responses.retrieve(created.id));
      expect(error).toBeInstanceOf(NotFoundError);
      expect(error.message).toContain(`Response with id '${created.id}' not found.`);
      expect(await failure(() => client.responses.delete(created.id))).toBeInstanceOf(NotFoundError);
      // And it can no longer be continued.
      expect(await failure(() => client.responses.create({ model: 'mistral', previous_response_id: created.id, input: 'more' }))).toBeInstanceOf(NotFoundError);
    });

    it('client.responses.delete resolves for a stored response', async () => {
      const created = await client.responses.create({ model: 'mistral', input: 'short-lived' });
      await client.responses.delete(created.id);
      expect(await rowOf(created.id)).toBeUndefined();
    });

    it('a stored exchange of another route is not a response', async () => {
      const chat = await client.chat.completions.create({ model: 'mistral', messages: [{ role: 'user', content: 'not a response' }] });
      expect(chat.choices[0].message.content).toBe('Echo: not a response');
      expect(await failure(() => client.responses.retrieve('resp_000000000000000000000000'))).toBeInstanceOf(NotFoundError);
    });
  });

  describe('errors', () => {
    it('a wrong key is an AuthenticationError', async () => {
      expect(await failure(() => clientFor('wrong-key-0123456789').responses.create({ model: 'mistral', input: 'hi' }))).toBeInstanceOf(AuthenticationError);
    });

    it('an unknown model is a NotFoundError (model_not_found)', async () => {
      const error = await failure(() => client.responses.create({ model: 'no-such-model', input: 'hi' }));
      expect(error).toBeInstanceOf(NotFoundError);
      expect(error.error).toMatchObject({ param: 'model', code: 'model_not_found' });
    });

    it.each([
      ['a built-in tool', { tools: [{ type: 'web_search' }] }, 'tools.0.type', /built-in tools/],
      ['an unknown input item type', { input: [{ type: 'computer_call_output', call_id: 'x' }] }, 'input.0.type', /not an input item type/],
      ['an output that answers no call', { input: [{ type: 'function_call_output', call_id: 'call_nope', output: 'x' }] }, 'input.0.call_id', /answers no function_call/],
      ['a file part', { input: [{ role: 'user', content: [{ type: 'input_file', file_id: 'file_1' }] }] }, 'input.0.content.0.type', /no equivalent/],
      ['an item reference', { input: [{ type: 'item_reference', id: 'msg_1' }] }, 'input.0', /item_reference/],
      ['a bad role', { input: [{ role: 'robot', content: 'hi' }] }, 'input.0.role', /role must be one of/],
      ['call arguments that are not JSON', { input: [{ type: 'function_call', call_id: 'c', name: 'f', arguments: '{oops' }] }, 'input.0.arguments', /not valid JSON/],
      ['metadata (refused, not dropped)', { metadata: { a: 'b' } }, 'metadata', /should not exist/],
      ['a json_schema format without schema', { text: { format: { type: 'json_schema', name: 'x' } } }, 'text.format.type', /schema is required/],
      ['reasoning that leads to no assistant turn', { input: [{ type: 'reasoning', id: 'rs_1', summary: [{ type: 'summary_text', text: 'hm' }] }, { role: 'user', content: 'hi' }] }, 'input.0', /reasoning item must come right before/],
      ['a temperature out of range', { temperature: 3 }, 'temperature', /temperature/],
      ['an empty input list', { input: [] }, 'input', /input must be/],
    ])('%s is a 400 in OpenAI shape naming the param', async (_name, fields, param, message) => {
      const error = await failure(() => client.responses.create({ model: 'mistral', input: 'hi', ...(fields as object) } as never));
      expect(error).toBeInstanceOf(BadRequestError);
      expect(error.error).toMatchObject({ type: 'invalid_request_error', param });
      expect(error.message).toMatch(message);
    });

    it('GET with stream=true (an event replay) is refused with a 400', async () => {
      const response = await t.request('/v1/responses/resp_0123?stream=true');
      expect(response.status).toBe(400);
      expect((await response.json()).error).toMatchObject({ param: 'stream' });
    });
  });
});
