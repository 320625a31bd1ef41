import { ChatEvent, ChatService } from '../../src/modules/chat/chat.service';
import { FakeOpenAi } from '../support/fake-openai';
import { queryDb } from '../support/sqlite';
import { startTestApp, TestApp } from '../support/test-app';

/**
 * The richer exchange through the real app's chat path (LlmService's retries and cache, the
 * answer's assembly, storage) with LLM_BACKEND=openai against the fake server over HTTP:
 * reasoning, streamed tool-call fragments and logprobs come out as whole events.
 */
describe('LLM_BACKEND=openai: reasoning, tool calls and logprobs through the chat path', () => {
  const fake = new FakeOpenAi({ models: ['qwen3'] });
  let t: TestApp;

  beforeAll(async () => {
    await fake.start();
    t = await startTestApp({ LLM_BACKEND: 'openai', OPENAI_BASE_URL: fake.url, MODEL_NAME: 'qwen3', OLLAMA_URL: 'http://127.0.0.1:9', CACHE_TTL_SECONDS: '0' });
  });
  afterAll(async () => {
    await t.close();
    await fake.stop();
  });

  const run = async (prompt: string, extra: Record<string, unknown>) => {
    const chat = t.app.get(ChatService);
    const prepared = await chat.prepare({ prompt, source: 'api' });
    Object.assign(prepared.request, extra);
    const events: ChatEvent[] = [];
    for await (const event of chat.run(prepared, new AbortController().signal)) events.push(event);
    return events;
  };

  it('hands on thinking, then whole tool calls, and finishes with tool_calls; the exchange is stored', async () => {
    fake.enqueueAnswer({ reasoning: 'Oslo is a city; call the tool.', toolCalls: [{ name: 'get_weather', arguments: { city: 'Oslo', days: [1, 2, 3] } }] });
    const events = await run('Weather in Oslo?', {
      tools: [{ name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } }],
      toolChoice: 'required',
      think: true,
    });
    expect(fake.chatRequests()[0].body).toMatchObject({ tool_choice: 'required', reasoning_effort: 'medium', tools: [{ type: 'function', function: { name: 'get_weather' } }] });
    // The reasoning comes in as many pieces as network reads carried it: all before the call.
    const kinds = events.map((event) => event.type).filter((type, i, all) => type !== all[i - 1]);
    expect(kinds).toEqual(['thinking', 'tool_call', 'done']);
    const done = events.at(-1) as Extract<ChatEvent, { type: 'done' }>;
    expect(done.result).toMatchObject({
      thinking: 'Oslo is a city; call the tool.',
      toolCalls: [{ id: expect.stringMatching(/^chatcmpl-tool-0/), name: 'get_weather', arguments: { city: 'Oslo', days: [1, 2, 3] } }],
      finishReason: 'tool_calls',
    });
    const rows = await queryDb<{ status: string; prompt: string }>(t.dbPath, 'SELECT status, prompt FROM conversations ORDER BY id');
    expect(rows).toEqual([{ status: 'ok', prompt: 'Weather in Oslo?' }]);
  });

  it('carries the logprobs of every token into the answer', async () => {
    fake.enqueueAnswer({ content: 'Sunny and cold.' });
    const events = await run('And tomorrow?', { logprobs: true, topLogprobs: 1 });
    const done = events[events.length - 1] as Extract<ChatEvent, { type: 'done' }>;
    expect(done.result.logprobs?.map((entry) => [entry.token, entry.logprob])).toEqual([
      ['Sunny ', -0.125],
      ['and ', -0.25],
      ['cold.', -0.375],
    ]);
  });

  it('fails the exchange with a 502 naming the call when the server streams broken arguments, and stores it as an error', async () => {
    fake.enqueueAnswer({ toolCalls: [{ id: 'call_broken', name: 'get_weather', arguments: '{"city":' }] });
    await expect(run('Broken?', { tools: [{ name: 'get_weather' }] })).rejects.toMatchObject({
      status: 502,
      message: 'The OpenAI-compatible server sent tool call call_broken (get_weather) with arguments that are not a JSON object: {"city":',
    });
    const rows = await queryDb<{ status: string }>(t.dbPath, "SELECT status FROM conversations WHERE prompt = 'Broken?'");
    expect(rows).toEqual([{ status: 'error' }]);
  });
});
