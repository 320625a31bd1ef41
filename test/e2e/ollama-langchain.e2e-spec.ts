import { AIMessage, HumanMessage, ToolMessage } from '@langchain/core/messages';
import { tool } from '@langchain/core/tools';
import { ChatOllama } from '@langchain/ollama';
import { z } from 'zod';
import { FakeOllama, type ChatRequestBody, type FakeAnswer } from '../support/fake-ollama';
import { queryDb } from '../support/sqlite';
import { startTestApp, TEST_API_KEY, type TestApp } from '../support/test-app';

/** The model: calls get_weather for a weather question until it has the result, then answers from it. */
function respond(req: ChatRequestBody): FakeAnswer {
  const last = req.messages?.at(-1);
  if (last?.role === 'tool') return { content: `It is ${String(last.content)} in Oslo.` };
  if (Array.isArray(req.tools) && String(last?.content).includes('weather')) {
    return { toolCalls: [{ name: 'get_weather', arguments: { city: 'Oslo' } }] };
  }
  return {};
}

interface Row {
  source: string;
  kind: string;
  status: string;
  model: string;
  prompt: string;
  response: string;
}

/**
 * LangChain's ChatOllama, unmodified, with `baseUrl` at Vega and the key in its `headers` option:
 * the calls its users make. Each call is first made against the fake Ollama directly, then through
 * Vega, and must come back the same; through Vega each exchange is stored with source 'ollama'.
 * ChatOllama streams every call, `invoke` too (`stream: true`, then joins the chunks), and always
 * sends `options` (empty when nothing is set).
 */
describe('@langchain/ollama ChatOllama', () => {
  const fake = new FakeOllama({ models: ['mistral', { name: 'qwen3', capabilities: ['completion', 'tools'] }], respond });
  let t: TestApp | undefined;

  beforeAll(async () => {
    await fake.start();
  });
  afterAll(async () => {
    await fake.stop();
  });
  afterEach(async () => {
    await t?.close();
    t = undefined;
    fake.reset();
  });

  /** The same client twice: straight to Ollama (the reference), and to Vega with the key. */
  const clients = async (model: string) => {
    t = await startTestApp({ OLLAMA_URL: fake.url });
    return {
      direct: new ChatOllama({ model, baseUrl: fake.url }),
      vega: new ChatOllama({ model, baseUrl: t.url, headers: { Authorization: `Bearer ${TEST_API_KEY}` } }),
    };
  };
  const rows = () => queryDb<Row>(t!.dbPath, 'SELECT source, kind, status, model, prompt, response FROM conversations ORDER BY id');
  /** The requests that reached Ollama: the first from the direct client, the second through Vega. */
  const upstream = () => fake.chatRequests().map((request) => request.body as ChatRequestBody);

  it('invoke(): the answer, its done_reason and token counts; stored as an ollama chat; the key not sent upstream', async () => {
    const { direct, vega } = await clients('mistral');
    const expected = await direct.invoke('What does a circuit breaker do?');
    const message = await vega.invoke('What does a circuit breaker do?');
    expect(message.content).toBe('Echo: What does a circuit breaker do?');
    expect(message.content).toBe(expected.content);
    expect(message.response_metadata).toEqual(expect.objectContaining({ model: 'mistral', done: true, done_reason: 'stop' }));
    expect(message.usage_metadata).toEqual(expected.usage_metadata);
    expect(message.usage_metadata!.output_tokens).toBeGreaterThan(0);
    expect(await rows()).toEqual([
      { source: 'ollama', kind: 'chat', status: 'ok', model: 'mistral', prompt: 'What does a circuit breaker do?', response: 'Echo: What does a circuit breaker do?' },
    ]);
    const [straight, throughVega] = fake.chatRequests();
    expect(throughVega.headers.authorization).toBeUndefined();
    expect(throughVega.body).toEqual(expect.objectContaining({ model: 'mistral', messages: [{ role: 'user', content: 'What does a circuit breaker do?' }] }));
    // The options as the client sent them: no Vega defaults in place of the model's own.
    expect(throughVega.body.options).toEqual(straight.body.options);
  });

  it('stream(): the answer chunk by chunk as the model makes it, joined as Ollama sent it', async () => {
    const { direct, vega } = await clients('mistral');
    // A token every 50 ms, as a model makes them: Vega hands on what one network read holds as one line.
    fake.enqueue({ kind: 'slow', delayMs: 50 }, { kind: 'slow', delayMs: 50 });
    const collect = async (client: ChatOllama) => {
      const parts: string[] = [];
      for await (const chunk of await client.stream('Stream three words')) parts.push(String(chunk.content));
      return parts;
    };
    const expected = await collect(direct);
    const parts = await collect(vega);
    expect(parts.join('')).toBe('Echo: Stream three words');
    expect(parts.filter(Boolean).length).toBeGreaterThan(1);
    expect(parts.join('')).toBe(expected.join(''));
    expect(await rows()).toEqual([expect.objectContaining({ source: 'ollama', status: 'ok', response: 'Echo: Stream three words' })]);
  });

  it('bindTools(): the call comes back with its arguments; the result sent back gets the answer', async () => {
    const { direct, vega } = await clients('qwen3');
    const getWeather = tool(async ({ city }: { city: string }) => `9 °C in ${city}`, {
      name: 'get_weather',
      description: 'The weather in a city.',
      schema: z.object({ city: z.string().describe('The city') }),
    });
    const question = new HumanMessage("What's the weather in Oslo?");
    const expected = await direct.bindTools([getWeather]).invoke([question]);
    const call = await vega.bindTools([getWeather]).invoke([question]);
    expect(call.tool_calls).toEqual([expect.objectContaining({ name: 'get_weather', args: { city: 'Oslo' }, type: 'tool_call' })]);
    expect(call.tool_calls!.map(({ name, args }) => ({ name, args }))).toEqual(expected.tool_calls!.map(({ name, args }) => ({ name, args })));
    // The tool as LangChain describes it (a JSON schema of draft 2020-12) reached Ollama unchanged.
    const [directRequest, vegaRequest] = upstream();
    expect(vegaRequest.tools).toEqual(directRequest.tools);
    expect(vegaRequest.tools).toEqual([expect.objectContaining({ type: 'function', function: expect.objectContaining({ name: 'get_weather' }) })]);

    // LangChain sends the call back with its own id and the result as a bare tool message (no name, no id).
    const result = await getWeather.invoke(call.tool_calls![0]);
    const answer = await vega.bindTools([getWeather]).invoke([question, new AIMessage({ content: '', tool_calls: call.tool_calls }), result]);
    expect(result).toBeInstanceOf(ToolMessage);
    expect(answer.content).toBe('It is 9 °C in Oslo in Oslo.');
    expect(upstream()[2].messages!.at(-1)).toEqual(expect.objectContaining({ role: 'tool', content: '9 °C in Oslo' }));
    expect((await rows()).map(({ source, status }) => ({ source, status }))).toEqual([
      { source: 'ollama', status: 'ok' },
      { source: 'ollama', status: 'ok' },
    ]);
  });

  it('withStructuredOutput(): the zod schema goes to Ollama as format, the answer is parsed', async () => {
    const { direct, vega } = await clients('mistral');
    const Person = z.object({ name: z.string(), age: z.number() });
    fake.enqueue({ kind: 'answer', answer: { content: '{"name":"Ada","age":36}' } });
    fake.enqueue({ kind: 'answer', answer: { content: '{"name":"Ada","age":36}' } });
    const expected = await direct.withStructuredOutput(Person).invoke('Who wrote the first program?');
    const person = await vega.withStructuredOutput(Person).invoke('Who wrote the first program?');
    expect(person).toEqual({ name: 'Ada', age: 36 });
    expect(person).toEqual(expected);
    const [directRequest, vegaRequest] = upstream();
    expect(vegaRequest.format).toEqual(directRequest.format);
    expect(vegaRequest.format).toEqual(
      expect.objectContaining({ type: 'object', properties: { name: { type: 'string' }, age: { type: 'number' } }, required: ['name', 'age'] }),
    );
    expect(await rows()).toEqual([expect.objectContaining({ source: 'ollama', status: 'ok', response: '{"name":"Ada","age":36}' })]);
  });

  it('a wrong key: the call fails with 401 and Ollama-shaped error text; nothing reaches Ollama', async () => {
    t = await startTestApp({ OLLAMA_URL: fake.url });
    const client = new ChatOllama({ model: 'mistral', baseUrl: t.url, headers: { Authorization: 'Bearer not-the-key' } });
    await expect(client.invoke('hello')).rejects.toMatchObject({ status_code: 401, error: expect.stringMatching(/key/i) });
    expect(fake.chatRequests()).toHaveLength(0);
    expect(await rows()).toEqual([]);
  });
});
