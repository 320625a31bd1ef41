import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { ChatOpenAI, OpenAIEmbeddings } from '@langchain/openai';
import { embed, embedMany, generateText, stepCountIs, streamText, tool } from 'ai';
import { z } from 'zod';
import { FakeOllama, type ChatRequestBody, type FakeAnswer } from '../support/fake-ollama';
import { queryDb } from '../support/sqlite';
import { startTestApp, TEST_API_KEY, TestApp } from '../support/test-app';

/** The model: calls get_weather for a weather question until it has the result, then answers from it. */
function respond(req: ChatRequestBody): FakeAnswer {
  const last = req.messages?.at(-1);
  if (last?.role === 'tool') return { content: `It is ${String(last.content)} in Oslo.` };
  if (Array.isArray(req.tools) && String(last?.content).includes('weather')) {
    return { toolCalls: [{ name: 'get_weather', arguments: { city: 'Oslo' } }] };
  }
  return {};
}

const cityArgs = z.object({ city: z.string().describe('The city') });

/**
 * LangChain JS and the AI SDK, unmodified, against /v1/chat/completions: the calls their users
 * make (tools, structured output, streaming), with the fake Ollama behind Vega.
 */
describe('LangChain and the AI SDK against /v1/chat/completions', () => {
  const fake = new FakeOllama({
    models: ['mistral', { name: 'qwen3', capabilities: ['completion', 'tools'] }, { name: 'nomic-embed-text', capabilities: ['embedding'], embeddingLength: 16 }],
    respond,
  });
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
  const start = async () => {
    t = await startTestApp({ OLLAMA_URL: fake.url });
    return t;
  };
  const kinds = async () => (await queryDb<{ kind: string }>(t!.dbPath, 'SELECT kind FROM conversations ORDER BY id')).map((row) => row.kind);
  /** What Ollama itself answers for these texts, asked directly. */
  const ollamaEmbeddings = async (input: string[]): Promise<number[][]> => {
    const response = await fetch(`${fake.url}/api/embed`, { method: 'POST', body: JSON.stringify({ model: 'nomic-embed-text', input }) });
    return ((await response.json()) as { embeddings: number[][] }).embeddings;
  };
  const statuses = async () => (await queryDb<{ status: string }>(t!.dbPath, 'SELECT status FROM conversations ORDER BY id')).map((row) => row.status);

  describe('LangChain ChatOpenAI', () => {
    const chat = (app: TestApp, model: string) => new ChatOpenAI({ model, apiKey: TEST_API_KEY, maxRetries: 0, configuration: { baseURL: `${app.url}/v1` } });

    it('bindTools(): the model’s call comes back as tool_calls with parsed args', async () => {
      const app = await start();
      const getWeather = { name: 'get_weather', description: 'The weather in a city.', schema: cityArgs };
      const message = await chat(app, 'qwen3').bindTools([getWeather]).invoke("What's the weather in Oslo?");
      expect(message.tool_calls).toEqual([expect.objectContaining({ name: 'get_weather', args: { city: 'Oslo' }, id: expect.stringMatching(/^call_/) })]);
      expect(fake.chatRequests()[0].body.tools).toEqual([expect.objectContaining({ type: 'function', function: expect.objectContaining({ name: 'get_weather' }) })]);
      expect(await statuses()).toEqual(['ok']);
    });

    it('withStructuredOutput(): a zod schema, answered and parsed', async () => {
      const app = await start();
      const Person = z.object({ name: z.string(), age: z.number() });
      const structured = chat(app, 'mistral').withStructuredOutput(Person, { name: 'person' });
      fake.enqueue({ kind: 'answer', answer: { content: '{"name":"Ada","age":36}' } });
      expect(await structured.invoke('Who wrote the first program?')).toEqual({ name: 'Ada', age: 36 });
      // LangChain asks with a strict response_format json_schema (draft 2020-12): Ollama gets the schema as format,
      // and the answer was checked against it.
      expect(fake.chatRequests()[0].body.format).toEqual(
        expect.objectContaining({
          $schema: 'https://json-schema.org/draft/2020-12/schema',
          type: 'object',
          properties: { name: expect.objectContaining({ type: 'string' }), age: expect.objectContaining({ type: 'number' }) },
        }),
      );
      fake.enqueue({ kind: 'answer', answer: { content: '{"name":"Ada"}' } });
      await expect(structured.invoke('Again?')).rejects.toThrow(/does not follow the schema: must have required property 'age'/);
      expect(await statuses()).toEqual(['ok', 'error']);
    });

    it('OpenAIEmbeddings: embedQuery and embedDocuments, the vectors as Ollama made them', async () => {
      const app = await start();
      const embeddings = new OpenAIEmbeddings({ model: 'nomic-embed-text', apiKey: TEST_API_KEY, maxRetries: 0, configuration: { baseURL: `${app.url}/v1` } });
      const query = await embeddings.embedQuery('what is a circuit breaker?');
      const documents = await embeddings.embedDocuments(['a breaker opens after failures', 'it closes again after a pause']);
      expect(query).toHaveLength(16);
      expect(documents.map((vector) => vector.length)).toEqual([16, 16]);
      const direct = await ollamaEmbeddings(['what is a circuit breaker?', 'a breaker opens after failures', 'it closes again after a pause']);
      // float32 on the wire (LangChain asks for base64 like the openai SDK): equal to 7 digits.
      [query, ...documents].forEach((vector, i) => vector.forEach((value, j) => expect(value).toBeCloseTo(direct[i][j], 6)));
      expect(await kinds()).toEqual(['embedding', 'embedding']);
    });
  });

  describe('AI SDK (openai-compatible provider)', () => {
    const provider = (app: TestApp) => createOpenAICompatible({ name: 'vega', baseURL: `${app.url}/v1`, apiKey: TEST_API_KEY });

    it('generateText with tools: the SDK runs the tool and sends the result back until the model answers', async () => {
      const app = await start();
      const seen: unknown[] = [];
      const result = await generateText({
        model: provider(app)('qwen3'),
        prompt: "What's the weather in Oslo?",
        tools: {
          get_weather: tool({
            description: 'The weather in a city.',
            inputSchema: cityArgs,
            execute: async (input) => {
              seen.push(input);
              return '9 °C';
            },
          }),
        },
        stopWhen: stepCountIs(3),
        maxRetries: 0,
      });
      expect(seen).toEqual([{ city: 'Oslo' }]);
      expect(result.text).toBe('It is 9 °C in Oslo.');
      const toolMessage = fake.chatRequests()[1].body.messages.at(-1);
      expect(toolMessage).toEqual(expect.objectContaining({ role: 'tool', tool_name: 'get_weather', tool_call_id: expect.stringMatching(/^call_/) }));
      expect(await statuses()).toEqual(['ok', 'ok']);
    });

    it('embed and embedMany: one vector, then several in input order', async () => {
      const app = await start();
      const model = provider(app).embeddingModel('nomic-embed-text');
      const one = await embed({ model, value: 'sunny day at the beach', maxRetries: 0 });
      const many = await embedMany({ model, values: ['rainy day in Oslo', 'sunny day at the beach', 'snow'], maxRetries: 0 });
      const direct = await ollamaEmbeddings(['sunny day at the beach', 'rainy day in Oslo', 'snow']);
      one.embedding.forEach((value, j) => expect(value).toBeCloseTo(direct[0][j], 6));
      expect(many.embeddings).toHaveLength(3);
      many.embeddings[0].forEach((value, j) => expect(value).toBeCloseTo(direct[1][j], 6));
      many.embeddings[1].forEach((value, j) => expect(value).toBeCloseTo(direct[0][j], 6));
      many.embeddings[2].forEach((value, j) => expect(value).toBeCloseTo(direct[2][j], 6));
      expect(many.usage.tokens).toBeGreaterThan(0);
      expect(await kinds()).toEqual(['embedding', 'embedding']);
    });

    it('streamText: the text as it streams, and the finish', async () => {
      const app = await start();
      const result = streamText({ model: provider(app)('mistral'), prompt: 'stream this', maxRetries: 0 });
      let text = '';
      for await (const piece of result.textStream) text += piece;
      expect(text).toBe('Echo: stream this');
      expect(await result.finishReason).toBe('stop');
    });
  });
});
