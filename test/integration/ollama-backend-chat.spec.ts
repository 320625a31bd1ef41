import { createHash } from 'node:crypto';
import { Cancellation } from '../../src/common/async/cancellation';
import { BackendRejectedError } from '../../src/common/errors/app-errors';
import type { BackendChatRequest, BackendChunk, ImageInput } from '../../src/core/llm/llm-backend';
import { OllamaBackend } from '../../src/core/llm/backends/ollama/ollama.backend';
import { FakeOllama, type FakeAnswer, type FakeModelSpec } from '../support/fake-ollama';

/** OllamaBackend.chatStream against the fake Ollama over HTTP: every field out, every part of the answer back. */

const MODELS: FakeModelSpec[] = ['mistral', { name: 'qwen3', capabilities: ['completion', 'tools', 'thinking', 'vision'], contextLength: 40960 }];
const WEATHER = {
  name: 'get_weather',
  description: 'The weather in a city',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};
const PNG_BYTES = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');
const IMAGE: ImageInput = { mime: 'image/png', data: PNG_BYTES.toString('base64'), bytes: PNG_BYTES.length, sha256: createHash('sha256').update(PNG_BYTES).digest('hex') };

let fake: FakeOllama;
let backend: OllamaBackend;
let respond: ((req: unknown) => FakeAnswer) | undefined;

beforeAll(async () => {
  fake = new FakeOllama({ models: MODELS, respond: (req) => respond?.(req) ?? {} });
  await fake.start();
  backend = new OllamaBackend(fake.url);
});

afterAll(async () => {
  await backend.close();
  await fake.stop();
});

afterEach(() => {
  fake.reset();
  respond = undefined;
});

async function collect(request: BackendChatRequest): Promise<BackendChunk[]> {
  const chunks: BackendChunk[] = [];
  for await (const chunk of backend.chatStream(request, new Cancellation())) chunks.push(chunk);
  return chunks;
}

const textOf = (chunks: BackendChunk[], type: 'token' | 'thinking') =>
  chunks.map((chunk) => (chunk.type === type ? chunk.text : '')).join('');

describe('OllamaBackend.chatStream', () => {
  describe('request mapping', () => {
    it('sends messages with images, thinking, tool calls and tool results, and every request field, in Ollama’s names', async () => {
      await collect({
        model: 'qwen3',
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: 'What is this, and the weather?', images: [IMAGE] },
          { role: 'assistant', content: '', thinking: 'Need the weather.', toolCalls: [{ id: 'call_abc12345', name: 'get_weather', arguments: { city: 'Paris' } }] },
          { role: 'tool', content: '{"temp":21}', toolCallId: 'call_abc12345', toolName: 'get_weather' },
        ],
        options: { temperature: 0.2, num_ctx: 8192 },
        tools: [WEATHER],
        toolChoice: 'auto',
        think: 'high',
        keepAlive: '10m',
        logprobs: true,
        topLogprobs: 3,
      });
      const [sent] = fake.chatRequests();
      expect(sent.body).toEqual({
        model: 'qwen3',
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: 'What is this, and the weather?', images: [IMAGE.data] },
          {
            role: 'assistant',
            content: '',
            thinking: 'Need the weather.',
            tool_calls: [{ id: 'call_abc12345', function: { index: 0, name: 'get_weather', arguments: { city: 'Paris' } } }],
          },
          { role: 'tool', content: '{"temp":21}', tool_name: 'get_weather', tool_call_id: 'call_abc12345' },
        ],
        stream: true,
        options: { temperature: 0.2, num_ctx: 8192 },
        tools: [{ type: 'function', function: WEATHER }],
        think: 'high',
        keep_alive: '10m',
        logprobs: true,
        top_logprobs: 3,
      });
    });

    it('sends a JSON format and a schema format as Ollama takes them', async () => {
      await collect({ model: 'mistral', messages: [{ role: 'user', content: 'x' }], options: {}, format: 'json' });
      const schema = { type: 'object', properties: { a: { type: 'integer' } }, required: ['a'] };
      const chunks = await collect({ model: 'mistral', messages: [{ role: 'user', content: 'x' }], options: {}, format: { schema, name: 'thing', strict: true } });
      const [json, withSchema] = fake.chatRequests();
      expect(json.body.format).toBe('json');
      expect(withSchema.body.format).toEqual(schema);
      expect(JSON.parse(textOf(chunks, 'token'))).toEqual({ a: 0 });
    });

    it('leaves the tools out for tool_choice none', async () => {
      await collect({ model: 'mistral', messages: [{ role: 'user', content: 'x' }], options: {}, tools: [WEATHER], toolChoice: 'none' });
      expect(fake.chatRequests()[0].body).not.toHaveProperty('tools');
    });
  });

  describe('answer mapping', () => {
    it('hands on thinking before the text, and the usage, done reason and timings at the end', async () => {
      respond = () => ({ thinking: 'Light scatters.', content: 'Because of Rayleigh scattering.' });
      const chunks = await collect({ model: 'qwen3', messages: [{ role: 'user', content: 'why is the sky blue' }], options: {} });
      expect(textOf(chunks, 'thinking')).toBe('Light scatters.');
      expect(textOf(chunks, 'token')).toBe('Because of Rayleigh scattering.');
      const firstToken = chunks.findIndex((chunk) => chunk.type === 'token');
      expect(chunks.slice(firstToken).some((chunk) => chunk.type === 'thinking')).toBe(false);
      const done = chunks.at(-1)!;
      expect(done).toEqual({
        type: 'done',
        usage: { promptTokens: 5, completionTokens: 6 },
        doneReason: 'stop',
        timings: { totalNs: expect.any(Number), loadNs: expect.any(Number), promptEvalNs: expect.any(Number), evalNs: expect.any(Number) },
      });
    });

    it('hands on each tool call whole with Ollama’s id; parallelToolCalls false keeps the first', async () => {
      respond = () => ({ toolCalls: [{ name: 'get_weather', arguments: { city: 'Paris' } }, { name: 'get_weather', arguments: { city: 'Oslo' } }] });
      const request: BackendChatRequest = { model: 'qwen3', messages: [{ role: 'user', content: 'weather?' }], options: {}, tools: [WEATHER], think: false };
      const calls = (await collect(request)).filter((chunk) => chunk.type === 'tool_call');
      expect(calls).toEqual([
        { type: 'tool_call', call: { id: expect.stringMatching(/^call_[a-z0-9]{8}$/), name: 'get_weather', arguments: { city: 'Paris' } } },
        { type: 'tool_call', call: { id: expect.stringMatching(/^call_[a-z0-9]{8}$/), name: 'get_weather', arguments: { city: 'Oslo' } } },
      ]);
      const single = (await collect({ ...request, parallelToolCalls: false })).filter((chunk) => chunk.type === 'tool_call');
      expect(single).toEqual([{ type: 'tool_call', call: expect.objectContaining({ arguments: { city: 'Paris' } }) }]);
    });

    it('carries the logprobs of every token on the token chunks', async () => {
      respond = () => ({ content: 'one two three' });
      const chunks = await collect({ model: 'mistral', messages: [{ role: 'user', content: 'count' }], options: {}, logprobs: true, topLogprobs: 2 });
      const logprobs = chunks.flatMap((chunk) => (chunk.type === 'token' ? (chunk.logprobs ?? []) : []));
      expect(logprobs.map((entry) => entry.token)).toEqual(['one', ' two', ' three']);
      for (const entry of logprobs) {
        expect(entry.bytes).toEqual([...Buffer.from(entry.token)]);
        expect(entry.topLogprobs).toHaveLength(2);
        expect(entry.topLogprobs![0]).toEqual({ token: entry.token, logprob: entry.logprob, bytes: entry.bytes });
      }
    });
  });

  describe('refusals', () => {
    it('passes Ollama’s capability 400s through with its text', async () => {
      const tools = collect({ model: 'mistral', messages: [{ role: 'user', content: 'x' }], options: {}, tools: [WEATHER] });
      await expect(tools).rejects.toThrow(BackendRejectedError);
      await expect(tools).rejects.toThrow('registry.ollama.ai/library/mistral:latest does not support tools');
      const think = collect({ model: 'mistral', messages: [{ role: 'user', content: 'x' }], options: {}, think: true });
      await expect(think).rejects.toThrow('"mistral" does not support thinking');
      const vision = collect({ model: 'mistral', messages: [{ role: 'user', content: 'x', images: [IMAGE] }], options: {} });
      await expect(vision).rejects.toThrow('does not support vision');
    });
  });
});
